/**
 * docker-compose.yml wires the generated Grafana files and the ingest's InfluxDB settings together:
 * every mounted file exists, Grafana gets every variable its provisioning file reads, and the ingest's
 * environment passes its own storage config check against the same bucket.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS_MOUNT, datasourceYaml, GAZETTEER_PATH } from '@tsunagaru/dashboards';
import { loadStorageConfig } from '@tsunagaru/ingest';

interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: string[];
  command?: string[];
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
/** `${VAR:?message}` as compose would substitute it when VAR is set. */
const substitute = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g, 'set-by-operator-0123456789')]));

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

  it('runs broker and ingest in one process (the journal-before-PUBACK path), without simulators', () => {
    const command = ingest?.command ?? [];
    const script = command.find((c) => c.endsWith('.ts'));
    expect(script && existsSync(script)).toBe(true);
    expect(script).toBe('scripts/start.ts');
    expect(ingest?.environment?.SIMULATORS).toBe('off');
    expect(Object.keys(compose.services)).not.toContain('broker');
  });

  it("configures the ingest for InfluxDB 2 (and DuckDB), accepted by the ingest's own config check", () => {
    const config = loadStorageConfig(substitute(ingest?.environment ?? {}));
    expect(config.stores).toEqual(['duckdb', 'influx-v2']);
    expect(config.influx).toMatchObject({ url: 'http://influxdb:8086', org: influxdb?.environment?.DOCKER_INFLUXDB_INIT_ORG, bucket: influxdb?.environment?.DOCKER_INFLUXDB_INIT_BUCKET });
    expect(ingest?.environment?.INFLUX_TOKEN).toBe(influxdb?.environment?.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN);
    expect(ingest?.depends_on).toContain('influxdb');
  });
});
