/**
 * A Dockerfile as the builder reads it, for checks without a Docker engine: comments and line
 * continuations removed, global ARG defaults substituted into FROM, stages with their instructions, exec
 * form (JSON array) arguments parsed. Only what this repository's Dockerfile uses.
 */
export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** The JSON array of an exec-form CMD / ENTRYPOINT / RUN (after HEALTHCHECK's options: its CMD). */
  exec?: string[];
  line: number;
}

export interface Stage {
  /** The base image (through earlier stages it is built FROM). */
  image: string;
  name?: string;
  /** Its own instructions, after those of the earlier stage it is built FROM (if any). */
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Record<string, string> } {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending && line.trimStart().startsWith('#')) return; // comments inside a continuation
    const joined = pending ? `${pending.text} ${line.trim()}` : line.trim();
    const start = pending?.line ?? i + 1;
    if (joined.endsWith('\\')) {
      pending = { text: joined.slice(0, -1).trimEnd(), line: start };
      return;
    }
    pending = undefined;
    const keyword = joined.split(/\s+/, 1)[0] ?? '';
    const args = joined.slice(keyword.length).trim();
    const json = /(\[.*\])\s*$/.exec(args);
    let exec: string[] | undefined;
    if (json && ['CMD', 'ENTRYPOINT', 'RUN', 'HEALTHCHECK'].includes(keyword.toUpperCase())) {
      try {
        exec = JSON.parse(json[1]!) as string[];
      } catch {
        exec = undefined;
      }
    }
    instructions.push({ keyword: keyword.toUpperCase(), args, ...(exec ? { exec } : {}), line: start });
  });

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = ins.args.split('=', 2) as [string, string?];
      globalArgs[name] = value;
      continue;
    }
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: FROM ${ins.args}`);
      const from = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => globalArgs[(a ?? b)!] ?? '');
      // FROM an earlier stage: the same base image, and that stage's instructions come first.
      const parent = stages.find((s) => s.name === from);
      stages.push({ image: parent?.image ?? from, ...(m[2] ? { name: m[2] } : {}), instructions: [...(parent?.instructions ?? [])] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before the first FROM`);
    stages.at(-1)!.instructions.push(ins);
  }
  return { stages, globalArgs };
}

/** The instructions of a stage with this keyword. */
export const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
