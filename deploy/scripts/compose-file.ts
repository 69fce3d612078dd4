/**
 * docker-compose.yml as compose reads it, for checks without a Docker engine: YAML merge keys (`<<`)
 * resolved, profiles, and `${VAR…}` interpolation. Only the compose features this repository uses.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CodedError } from '@tsunagaru/firmware-contracts';

/** docker-compose.yml as compose would refuse it (YAML problems, a required variable unset). */
export class ComposeError extends CodedError<'DEPLOY_ERR_COMPOSE'> {
  override readonly name = 'ComposeError';
  constructor(message: string) {
    super('DEPLOY_ERR_COMPOSE', message, false);
  }
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  ports?: string[];
  networks?: Record<string, { aliases?: string[] } | null> | string[];
  healthcheck?: { test?: string[] | string; interval?: string; timeout?: string; retries?: number; start_period?: string };
  stop_grace_period?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Throws on any YAML error or warning (duplicate keys, unresolved aliases, tabs…), as compose would refuse them. */
export function loadComposeFile(path = 'docker-compose.yml'): ComposeFile {
  // Compose resolves `<<` merge keys (YAML 1.1); the yaml package does so only when asked.
  const doc = parseDocument(readFileSync(path, 'utf8'), { merge: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) throw new ComposeError(`${path}: ${problems.map((p) => p.message).join('\n')}`);
  return doc.toJS({ maxAliasCount: 1000 }) as ComposeFile;
}

/** Services `docker compose --profile <profile> up` starts (a service without profiles starts in every one). */
export function servicesOf(compose: ComposeFile, profile: string | undefined): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => !s.profiles || s.profiles.length === 0 || (profile !== undefined && s.profiles.includes(profile)))
    .map(([name]) => name)
    .sort();
}

export function dependsOn(service: ComposeService): string[] {
  const d = service.depends_on;
  return !d ? [] : Array.isArray(d) ? d : Object.keys(d);
}

/** A `volumes:` entry in short syntax: `source:target[:mode]`. A source starting with . or / is a bind mount. */
export function parseVolume(entry: string): { source: string; target: string; mode?: string; bind: boolean } {
  const [source = '', target = '', mode] = entry.split(':');
  return { source, target, ...(mode ? { mode } : {}), bind: source.startsWith('.') || source.startsWith('/') };
}

/**
 * The environment compose passes to the container, with `${VAR:?message}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR}` and `$VAR` substituted from `values`; a required variable missing from `values` throws, as compose does.
 */
export function interpolate(env: ComposeService['environment'], values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(env ?? {})) {
    out[key] = String(raw).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      const variable = (name ?? bare)!;
      const value = values[variable];
      const unset = value === undefined || (op?.startsWith(':') && value === '');
      if (!unset) return value!;
      if (op?.endsWith('?')) throw new ComposeError(`${key}: required variable ${variable} is not set (${arg})`);
      return op?.endsWith('-') ? (arg ?? '') : '';
    });
  }
  return out;
}

/**
 * The TypeScript source of the compiled entry a `node …` command runs, as tsconfig.build.json maps them:
 * `dist/scripts/start.js` → `scripts/start.ts`, `broker/dist/main.js` → `broker/src/main.ts`.
 */
export function entrySource(command: readonly string[] | undefined): string | undefined {
  const entry = command?.[0] === 'node' ? command.slice(1).find((a) => !a.startsWith('-')) : undefined;
  if (!entry?.endsWith('.js')) return undefined;
  const root = /^dist\/(.+)\.js$/.exec(entry);
  if (root) return `${root[1]}.ts`;
  const pkg = /^([a-z-]+)\/dist\/(.+)\.js$/.exec(entry);
  return pkg ? `${pkg[1]}/src/${pkg[2]}.ts` : undefined;
}
