/**
 * Shared bits of the operator CLIs (`npm run devices`, `npm run tokens`): commands parsed with node:util
 * parseArgs in strict mode (an unknown or misspelt option is an error naming it, never ignored), each
 * command's help listing every option it takes, and one way to exit.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodedError } from '@tsunagaru/firmware-contracts';
import type { AuditActor } from '@tsunagaru/ingest/operators';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** Its arguments as the help shows them, e.g. `<id> <type>`. */
  args: string;
  /** How many positional arguments it takes: exactly, or [at least, at most]. */
  arity: number | readonly [number, number];
  summary: string;
  /** Its options: the parseArgs config, each with the line the help shows. */
  options?: Readonly<Record<string, Options[string] & { help: string; arg?: string }>>;
}

export interface Cli {
  /** What errors are prefixed with. */
  name: string;
  /** How it is run, as the help shows it; default `npm run <name> --`. */
  invocation?: string;
  /** Its commands; a CLI of one command has the single command `''` (no command word). */
  commands: Readonly<Record<string, CommandSpec>>;
  /** Lines after the commands (the environment it reads). */
  footer: string;
}

export interface ParsedCommand {
  command: string;
  positionals: string[];
  values: Record<string, string | boolean | Array<string | boolean> | undefined>;
}

const invocation = (cli: Cli) => cli.invocation ?? `npm run ${cli.name} --`;

/** A command-line mistake: exit 2 with the usage. */
export class UsageError extends CodedError<'CLI_ERR_USAGE'> {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The help to show with it (the command's, or the whole CLI's). */
    readonly usage: string,
  ) {
    super('CLI_ERR_USAGE', message, false);
  }
}

const optionLine = (name: string, o: { short?: string; help: string; arg?: string; type: string }) =>
  `--${name}${o.short ? `, -${o.short}` : ''}${o.type === 'string' ? ` <${o.arg ?? 'value'}>` : ''}`;

/** The help of one command: its arguments, what it does, every option. */
export function commandHelp(cli: Cli, command: string): string {
  const spec = cli.commands[command]!;
  const options = Object.entries(spec.options ?? {}).map(([name, o]) => ({ left: optionLine(name, o), help: o.help }));
  options.push({ left: '--help, -h', help: 'show this help' });
  const width = Math.max(...options.map((o) => o.left.length));
  return [`usage: ${invocation(cli)}${command ? ` ${command}` : ''}${spec.args ? ` ${spec.args}` : ''} [options]`, '', `  ${spec.summary}`, '', 'options:', ...options.map((o) => `  ${o.left.padEnd(width)}  ${o.help}`), '', cli.footer].join('\n');
}

/** The help of the whole CLI: every command, one line each, and under it the options it takes. */
export function cliHelp(cli: Cli): string {
  const rows = Object.entries(cli.commands).map(([name, c]) => ({
    left: `${name}${c.args ? ` ${c.args}` : ''}`,
    help: c.summary,
    options: Object.entries(c.options ?? {}).map(([option, o]) => optionLine(option, o)),
  }));
  const width = Math.max(...rows.map((r) => r.left.length));
  const lines = rows.flatMap((r) => [`  ${r.left.padEnd(width)}  ${r.help}`, ...(r.options.length ? [`  ${''.padEnd(width)}  options: ${r.options.join(', ')}`] : [])]);
  return [`usage: ${invocation(cli)} <command> [options]`, '', 'commands:', ...lines, '', `\`${invocation(cli)} <command> --help\` explains a command's options.`, cli.footer].join('\n');
}

/**
 * Parses `argv` strictly: a help request (the whole CLI's, or a command's), or the command with its
 * arguments and options. Throws UsageError for an unknown command or option, a missing or extra argument.
 */
export function parseCommand(cli: Cli, argv: readonly string[]): { help: string } | ParsedCommand {
  if (Object.keys(cli.commands).length === 1 && '' in cli.commands) return parseOptions(cli, '', argv);
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    if (command === undefined) throw new UsageError('missing command', cliHelp(cli));
    return { help: cliHelp(cli) };
  }
  if (!cli.commands[command]) throw new UsageError(`unknown command "${command}"`, cliHelp(cli));
  return parseOptions(cli, command, rest);
}

function parseOptions(cli: Cli, command: string, rest: readonly string[]): { help: string } | ParsedCommand {
  const spec = cli.commands[command]!;
  const what = command || cli.name;
  const usage = commandHelp(cli, command);
  const options: Options = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    const { help: _help, arg: _arg, ...config } = o;
    options[name] = config;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true });
  } catch (err) {
    // node:util names the option ("Unknown option '--atr'", "Option '--lat <value>' argument missing").
    throw new UsageError(`${what}: ${(err as Error).message}`, usage);
  }
  if (parsed.values.help) return { help: usage };
  const [min, max] = typeof spec.arity === 'number' ? [spec.arity, spec.arity] : spec.arity;
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`${what} needs ${spec.args}`, usage);
  if (n > max) throw new UsageError(`${what} takes ${max === 0 ? 'no arguments' : spec.args}, got also ${JSON.stringify(parsed.positionals.slice(max).join(' '))}`, usage);
  return { command, positionals: parsed.positionals, values: parsed.values };
}

export function dataDirFromEnv(): string {
  return resolve(process.env.DATA_DIR || './data');
}

/** The audit actor for a CLI run: the OS user (the person with a shell on the server). */
export function cliActor(command: string): AuditActor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return { kind: 'cli', id: user, name: command };
}

/**
 * Runs a CLI: a help request prints it and exits 0; a usage error exits 2 with the help; a coded error
 * exits 1 with `CODE: message`.
 */
export function runCli(cli: Cli, main: (parsed: ParsedCommand) => Promise<void>): void {
  Promise.resolve()
    .then(() => parseCommand(cli, process.argv.slice(2)))
    .then((parsed) => {
      if ('help' in parsed) return void process.stdout.write(`${parsed.help}\n`);
      return main(parsed);
    })
    .then(
      () => process.exit(0),
      (err: unknown) => {
        if (err instanceof UsageError) {
          process.stderr.write(`${cli.name}: ${err.message}\n\n${err.usage}\n`);
          process.exit(2);
        }
        const code = (err as { code?: string }).code;
        process.stderr.write(`${cli.name}: ${code ? `${code}: ` : ''}${(err as Error).message ?? String(err)}\n`);
        process.exit(1);
      },
    );
}
