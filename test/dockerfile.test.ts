/**
 * Issue 17, "Image and compose", checked without a Docker engine: the Dockerfile builds in one stage with
 * the dev dependencies and runs from another with the production ones, the compiled output, the console's
 * files and openssl; as a non-root user under tini; with a HEALTHCHECK on the public health endpoint; on a
 * maintained Node LTS the README names. The paths it copies and runs exist, and the package exports the
 * image's NODE_OPTIONS selects point where the build writes. test/compiled-entries.test.ts runs the same
 * commands under plain node.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envOfScript, runtimeFlagsOfScript } from '../bench/lib/npm-script.js';
import { entrySource } from '../deploy/scripts/compose-file.js';
import { instructionsOf, parseDockerfile, type Stage } from './support/dockerfile.js';

const { stages } = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const runtime = stages.at(-1)!;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { workspaces: string[] };
const runs = (stage: Stage) => instructionsOf(stage, 'RUN').map((i) => i.args).join('\n');
const copies = (stage: Stage) => instructionsOf(stage, 'COPY').map((i) => i.args);

describe('Dockerfile', () => {
  it('builds with the dev dependencies in one stage and runs from another with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const build = stages.find((s) => /npm run build/.test(runs(s)))!;
    expect(build, 'a stage runs npm run build').toBeDefined();
    expect(runs(build)).toMatch(/npm ci [^\n]*--include=dev/);
    const deps = stages.find((s) => /npm ci [^\n]*--omit=dev/.test(runs(s)))!;
    expect(deps, 'a stage installs production dependencies only').toBeDefined();
    expect(runtime.name).toBeUndefined();
    expect(runs(runtime)).not.toMatch(/npm (ci|install)/);
    // The runtime gets node_modules from the production install, never from the build stage.
    expect(copies(runtime)).toContain(`--from=${deps.name} /app ./`);
    expect(copies(runtime).filter((c) => c.startsWith(`--from=${build.name} `) && /node_modules/.test(c))).toEqual([]);
    expect(copies(runtime).filter((c) => !c.startsWith('--from=')), 'nothing from the build context').toEqual([]);
    // Every stage on the one image: native modules (DuckDB, serialport) are built for the Node that runs them.
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it('copies the compiled output, the console and the run-time files, and no TypeScript source', () => {
    const fromBuild = copies(runtime).filter((c) => c.startsWith('--from=build ')).map((c) => c.split(/\s+/).slice(1));
    for (const [src, dst] of fromBuild) {
      expect(src, 'copies from /app').toMatch(/^\/app\//);
      expect(dst).toBe(src!.slice('/app/'.length));
      expect(src).not.toMatch(/\/src(\/|$)/);
      const path = src!.slice('/app/'.length);
      if (!/(^|\/)dist$/.test(path)) expect(existsSync(path), path).toBe(true);
    }
    const copied = fromBuild.map(([, dst]) => dst);
    expect(copied).toEqual(expect.arrayContaining(['dist', 'ingest/console', 'ingest/mappings', 'firmware-contracts/dist', 'broker/dist', 'edge-agent/dist', 'ingest/dist', 'simulators/dist']));
    // The packages the entry points import, each with its dist (dashboards is build-time only: Grafana files).
    for (const w of pkg.workspaces.filter((x) => x !== 'dashboards')) expect(copied, w).toContain(`${w}/dist`);
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '**/dist', 'deploy/tls', 'deploy/mosquitto/auth', 'data', '.git']) expect(ignored, `.dockerignore ${p}`).toContain(p);
  });

  it('resolves our packages to the compiled output in the image, through the condition the build maps', () => {
    const env = instructionsOf(runtime, 'ENV').map((i) => i.args);
    expect(env).toContain('NODE_OPTIONS=--conditions=tsunagaru-compiled');
    expect(env).toContain('NODE_ENV=production');
    for (const w of pkg.workspaces) {
      const exports = (JSON.parse(readFileSync(`${w}/package.json`, 'utf8')) as { exports: Record<string, { 'tsunagaru-compiled': string; default: string }> }).exports;
      for (const [subpath, target] of Object.entries(exports)) {
        expect(existsSync(`${w}/${target.default}`), `${w} ${subpath} source`).toBe(true);
        // tsconfig.build.json of each package: rootDir src → outDir dist.
        expect(target['tsunagaru-compiled'], `${w} ${subpath}`).toBe(target.default.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js'));
      }
      expect((JSON.parse(readFileSync(`${w}/tsconfig.build.json`, 'utf8')) as { compilerOptions: object }).compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    }
  });

  it('runs as a non-root user under tini, node itself receiving the signals, with openssl for the development certificate', () => {
    const user = instructionsOf(runtime, 'USER').at(-1)?.args;
    expect(user).toBe('node');
    expect(runs(runtime)).toMatch(/apt-get install [^\n]*\bopenssl\b/);
    expect(runs(runtime)).toMatch(/apt-get install [^\n]*\btini\b/);
    expect(readFileSync('broker/src/tls.ts', 'utf8')).toMatch(/run\('openssl', args/); // the development certificate
    expect(instructionsOf(runtime, 'ENTRYPOINT').at(-1)?.exec).toEqual(['/usr/bin/tini', '--']);
    const cmd = instructionsOf(runtime, 'CMD').at(-1)?.exec;
    expect(cmd?.[0]).toBe('node');
    expect(entrySource(cmd)).toBe('scripts/start.ts');
    expect(runs(runtime)).toMatch(/chown -R node:node \/data/);
  });

  it("runs node with npm start's memory bounds: its flags and the environment it sets (docs/deploy.md, Memory)", () => {
    const cmd = instructionsOf(runtime, 'CMD').at(-1)!.exec!;
    expect(cmd.slice(1, -1)).toEqual(runtimeFlagsOfScript('start'));
    const env = instructionsOf(runtime, 'ENV').map((i) => i.args);
    for (const [k, v] of Object.entries(envOfScript('start'))) expect(env).toContain(`${k}=${v}`);
  });

  it('checks health on the public health endpoint', () => {
    const health = instructionsOf(runtime, 'HEALTHCHECK').at(-1)!;
    expect(health.args).toMatch(/--interval=\d+s .*--timeout=\d+s .*--start-period=\d+s/);
    expect(health.args).toMatch(/ CMD \[/);
    expect(health.exec).toEqual(['node', 'dist/scripts/healthcheck.js']);
    expect(entrySource(health.exec)).toBe('scripts/healthcheck.ts');
    expect(readFileSync('scripts/healthcheck.ts', 'utf8')).toContain("path: '/api/v1/health'");
    expect(readFileSync('ingest/src/api/routes/health.ts', 'utf8')).toMatch(/'\/api\/v1\/health',\s*\{\s*config: \{ public: true \}/);
  });

  it('uses a maintained Node LTS pinned to a release, one the README supports', () => {
    const m = /^node:(\d+)\.(\d+)\.(\d+)-bookworm-slim$/.exec(runtime.image);
    expect(m, runtime.image).not.toBeNull();
    const major = Number(m![1]);
    expect([22, 24]).toContain(major);
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('### Node versions'), readme.indexOf('\n## ', readme.indexOf('### Node versions')));
    expect(section).toContain(`Node ${major}`);
    expect(section).toMatch(/Node 20/); // what CI runs
  });
});

describe('deploy/systemd/tsunagaru.service', () => {
  const unit = readFileSync('deploy/systemd/tsunagaru.service', 'utf8');
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('runs node on a compiled entry point as the main process, which systemd stops with SIGTERM', () => {
    const [exec] = values('ExecStart');
    const argv = exec!.split(/\s+/);
    expect(argv[0]).toBe('/usr/bin/node');
    expect(entrySource(['node', ...argv.slice(1)])).toBe('scripts/start.ts');
    expect(values('Environment')).toContain('NODE_OPTIONS=--conditions=tsunagaru-compiled');
    expect(values('Type')).toEqual(['exec']);
    expect(values('KillSignal')).toEqual(['SIGTERM']);
    expect(Number(values('TimeoutStopSec')[0])).toBeGreaterThanOrEqual(15);
    expect(values('User')).toEqual(['tsunagaru']);
    expect(unit).not.toMatch(/\bnpm\b[^\n]*start|\bnpx\b/);
  });

  it("runs node with npm start's memory bounds: its flags and the environment it sets", () => {
    expect(values('ExecStart')[0]!.split(/\s+/).slice(1, -1)).toEqual(runtimeFlagsOfScript('start'));
    for (const [k, v] of Object.entries(envOfScript('start'))) expect(values('Environment')).toContain(`${k}=${v}`);
  });
});
