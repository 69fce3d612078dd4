/**
 * docker-compose.yml (profile single-node, and Grafana in every profile) wires the generated Grafana files and the ingest's InfluxDB settings together:
 * every mounted file exists, Grafana gets every variable its provisioning file reads, and the ingest's
 * environment passes its own storage config check against the same bucket.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS_MOUNT, datasourceYaml, GAZETTEER_PATH } from '@tsunagaru/dashboards';
import { loadStorageConfig } from '@tsunagaru/ingest';
import { dependsOn, entrySource, loadComposeFile, servicesOf } from '../deploy/scripts/compose-file.js';

const compose = loadComposeFile();
/** `${VAR:?message}` as compose would substitute it when VAR is set. */
const substitute = (env: Record<string, string | number | boolean>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g, 'set-by-operator-0123456789')]));

describe('docker-compose.yml', () => {
  const { grafana, influxdb, tsunagaru: ingest } = compose.services;

  it('mounts the generated provisioning, dashboards and gazetteer into Grafana, read-only', () => {
    const mounts = Object.fromEntries((grafana?.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => v.split(':') as [string, string, string]).map(([src, dst, mode]) => [dst, { src, mode }]));
    expect(Object.keys(mounts).sort()).toEqual([DASHBOARDS_MOUNT, '/etc/grafana/provisioning/dashboards', '/etc/grafana/provisioning/datasources', `/usr/share/grafana/${GAZETTEER_PATH}`].sort());
    for (const { src, mode } of Object.values(mounts)) {
      expect(existsSync(src), src).toBe(true);
      expect(mode).toBe('ro');
    }
  });

  it('gives Grafana every variable its data source file reads, pointing at the InfluxDB service', () => {
    const wanted = [...new Set([...datasourceYaml().matchAll(/\$([A-Z_]+)/g)].map((m) => m[1]!))].sort();
    expect(wanted).toEqual(['INFLUX_BUCKET', 'INFLUX_TOKEN', 'INFLUX_URL']);
    for (const v of wanted) expect(grafana?.environment?.[v], v).toBeTruthy();
    expect(grafana?.environment?.INFLUX_URL).toBe('http://influxdb:8086');
    expect(grafana?.environment?.INFLUX_BUCKET).toBe(influxdb?.environment?.DOCKER_INFLUXDB_INIT_BUCKET);
    expect(grafana?.environment?.INFLUX_TOKEN).toBe(influxdb?.environment?.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(grafana?.image).toMatch(/^grafana\/grafana-oss:11\.6/);
  });

  it('mounts provisioning files that define the data source its dashboards use, in every profile', () => {
    const source = (target: string) => (grafana?.volumes ?? []).map((v) => v.split(':')).find(([, dst]) => dst === target)?.[0];
    const datasourceDir = source('/etc/grafana/provisioning/datasources')!;
    const files = readdirSync(datasourceDir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    const defined = files.flatMap((f) => (parse(readFileSync(join(datasourceDir, f), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] }).datasources);
    expect(defined).toHaveLength(1);
    expect(defined[0]).toMatchObject({ type: 'influxdb', url: '$INFLUX_URL' });
    // The URL Grafana gets names a service that runs wherever Grafana runs.
    const host = new URL(String(grafana?.environment?.INFLUX_URL)).hostname;
    for (const profile of grafana?.profiles ?? []) expect(servicesOf(compose, profile), profile).toContain(host);

    const providerDir = source('/etc/grafana/provisioning/dashboards')!;
    const providers = readdirSync(providerDir).flatMap((f) => (parse(readFileSync(join(providerDir, f), 'utf8')) as { providers: { options: { path: string } }[] }).providers);
    expect(providers.map((p) => p.options.path)).toEqual([DASHBOARDS_MOUNT]);
    const dashboardsDir = source(DASHBOARDS_MOUNT)!;
    const dashboards = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'));
    expect(dashboards.length).toBeGreaterThanOrEqual(3);
    for (const file of dashboards) {
      const uids = new Set([...readFileSync(join(dashboardsDir, file), 'utf8').matchAll(/"datasource":\s*\{[^}]*"uid":\s*"([^"]+)"/g)].map((m) => m[1]));
      uids.delete('__expr__');
      expect([...uids], file).toEqual([defined[0]!.uid]);
    }
  });

  it('runs broker and ingest in one process (the journal-before-PUBACK path), without simulators', () => {
    expect(servicesOf(compose, 'single-node')).toEqual(['grafana', 'influxdb', 'tsunagaru']);
    const script = entrySource(ingest?.command);
    expect(script && existsSync(script)).toBe(true);
    expect(script).toBe('scripts/start.ts');
    expect(ingest?.environment?.SIMULATORS).toBe('off');
  });

  it("configures the ingest for InfluxDB 2 (and DuckDB), accepted by the ingest's own config check", () => {
    const config = loadStorageConfig(substitute(ingest?.environment ?? {}));
    expect(config.stores).toEqual(['duckdb', 'influx-v2']);
    expect(config.influx).toMatchObject({ url: 'http://influxdb:8086', org: influxdb?.environment?.DOCKER_INFLUXDB_INIT_ORG, bucket: influxdb?.environment?.DOCKER_INFLUXDB_INIT_BUCKET });
    expect(ingest?.environment?.INFLUX_TOKEN).toBe(influxdb?.environment?.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(dependsOn(ingest!)).toContain('influxdb');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { workspaces: string[]; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

  it('copies every workspace manifest before npm ci, so the lockfile install matches', () => {
    const install = dockerfile.indexOf('RUN npm ci');
    expect(install).toBeGreaterThan(0);
    for (const w of pkg.workspaces) expect(dockerfile.indexOf(`COPY ${w}/package.json ${w}/`), w).toBeGreaterThan(0);
    for (const w of pkg.workspaces) expect(dockerfile.indexOf(`COPY ${w}/package.json ${w}/`), w).toBeLessThan(install);
  });

  it('runs what the build compiled (node on dist, no tsx at run time) and owns /data for the node user', () => {
    const runners = new Set(Object.values(compose.services).filter((s) => s.build).map((s) => s.command?.[0]));
    expect([...runners]).toEqual(['node']);
    for (const s of Object.values(compose.services).filter((x) => x.build)) expect(existsSync(entrySource(s.command) ?? 'no entry'), s.command?.join(' ')).toBe(true);
    // tsx is a dev dependency, installed in the build stage only (test/dockerfile.test.ts checks the stages).
    const tsxIsDev = Boolean(pkg.devDependencies?.tsx) && !pkg.dependencies?.tsx;
    expect(tsxIsDev).toBe(true);
    expect(dockerfile).toMatch(/^RUN npm ci [^\n]*--include=dev/m);
    expect(dockerfile).toMatch(/^RUN npm ci [^\n]*--omit=dev/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/chown -R node:node \/data/);
  });
});

