/**
 * The three shapes of docker-compose.yml (profiles single-node, mosquitto, aedes-cluster), checked without a
 * Docker engine: each profile starts the services docs/deploy.md lists, every reference resolves, workers
 * never share a journal or a client id, and every Tsunagaru service's environment is read and accepted by
 * our own config loaders, the same code the containers run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadBrokerConfig } from '@tsunagaru/broker';
import { loadIngestConfig } from '@tsunagaru/ingest';
import { dependsOn, entrySource, interpolate, loadComposeFile, parseVolume, servicesOf, type ComposeService } from '../deploy/scripts/compose-file.js';

const compose = loadComposeFile();
const services = compose.services;
const PROFILES = ['single-node', 'mosquitto', 'aedes-cluster'];

/** What an operator sets before `docker compose up` (docs/deploy.md); 16+ characters where the loaders ask for it. */
const OPERATOR_ENV: Record<string, string> = {
  TSUNAGARU_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
  TSUNAGARU_INFLUX_TOKEN: 'influx-token-0123456789abcdef',
  TSUNAGARU_INFLUX_PASSWORD: 'influx-password-0123',
  TSUNAGARU_GRAFANA_ADMIN_PASSWORD: 'grafana-password-0123',
  TSUNAGARU_INGEST_MQTT_PASSWORD: 'ingest-mqtt-password-0123456789',
};
const envOf = (name: string) => interpolate(services[name]?.environment, OPERATOR_ENV);
/** The TypeScript source of the compiled entry the service's command runs. */
const script = (s: ComposeService) => entrySource(s.command);
const ingests = Object.keys(services).filter((n) => ['ingest/src/main.ts', 'scripts/start.ts'].includes(script(services[n]!) ?? ''));
const brokers = Object.keys(services).filter((n) => script(services[n]!) === 'broker/src/main.ts');

/** `| \`profile\` | \`svc\`, \`svc\` … |` rows of the shapes table in docs/deploy.md. */
function documentedShapes(): Record<string, string[]> {
  const rows = readFileSync('docs/deploy.md', 'utf8').split('\n').filter((l) => /^\| `(single-node|mosquitto|aedes-cluster)` \|/.test(l));
  return Object.fromEntries(rows.map((row) => {
    const [profile, list] = row.split('|').slice(1, 3).map((c) => c.trim());
    return [profile!.replace(/`/g, ''), [...list!.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!).sort()];
  }));
}

/** Calls a loader with an environment that records which variables it reads. */
function readBy(load: (env: Record<string, string | undefined>) => unknown, env: Record<string, string>): { config: unknown; read: Set<string> } {
  const read = new Set<string>();
  const tracked = new Proxy(env, { get: (target, key) => (typeof key === 'string' && read.add(key), target[key as string]) });
  return { config: load(tracked), read };
}

describe('docker-compose.yml shapes', () => {
  it('starts, per profile, exactly the services docs/deploy.md lists, and nothing without a profile', () => {
    const documented = documentedShapes();
    expect(Object.keys(documented).sort()).toEqual([...PROFILES].sort());
    for (const profile of PROFILES) expect(servicesOf(compose, profile), profile).toEqual(documented[profile]);
    // A bare `docker compose up` must not start a half stack (or two brokers on 1883).
    expect(servicesOf(compose, undefined)).toEqual([]);
    for (const [name, s] of Object.entries(services)) for (const p of s.profiles ?? []) expect(PROFILES, `${name} profile ${p}`).toContain(p);
  });

  it('uses only keys of the Compose Specification, which compose enforces (a misspelt key fails `up`)', () => {
    const TOP = ['name', 'services', 'volumes', 'networks', 'secrets', 'configs', 'include'];
    const SERVICE = ['build', 'image', 'restart', 'command', 'entrypoint', 'profiles', 'depends_on', 'volumes', 'environment', 'env_file', 'ports', 'expose', 'networks', 'healthcheck', 'user', 'working_dir', 'stop_grace_period', 'stop_signal', 'ulimits', 'logging', 'deploy', 'init', 'read_only', 'tmpfs', 'labels', 'secrets', 'configs', 'hostname', 'extra_hosts'];
    for (const key of Object.keys(compose)) if (!key.startsWith('x-')) expect(TOP, `top-level ${key}`).toContain(key);
    for (const [name, s] of Object.entries(services)) {
      for (const key of Object.keys(s)) expect(SERVICE, `${name}.${key}`).toContain(key);
      for (const [k, v] of Object.entries(s.environment ?? {})) expect(['string', 'number', 'boolean'], `${name}.environment.${k}`).toContain(typeof v);
      expect(s.command?.every((c) => typeof c === 'string') ?? true, `${name}.command`).toBe(true);
    }
  });

  it('depends only on services of the same profile, and on named volumes it declares', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const target of dependsOn(s)) {
        expect(services[target], `${name} depends on ${target}`).toBeDefined();
        const condition = Array.isArray(s.depends_on) ? undefined : (s.depends_on?.[target] as { condition?: string }).condition;
        if (condition === 'service_healthy') expect(services[target]?.healthcheck, `${name} waits for ${target} to be healthy`).toBeDefined();
        for (const p of s.profiles ?? []) expect(services[target]?.profiles, `${name} (${p}) depends on ${target}`).toContain(p);
      }
      for (const v of (s.volumes ?? []).map(parseVolume)) {
        if (v.bind) continue;
        expect(declared, `${name} mounts volume ${v.source}`).toContain(v.source);
        used.add(v.source);
      }
    }
    expect(declared.filter((v) => !used.has(v)), 'declared but unused').toEqual([]);
  });

  it('bind-mounts only paths that exist in the repository, read-only', () => {
    const binds = Object.entries(services).flatMap(([name, s]) => (s.volumes ?? []).map(parseVolume).filter((v) => v.bind).map((v) => ({ name, ...v })));
    expect(binds.length).toBeGreaterThan(4);
    for (const b of binds) {
      expect(b.source.startsWith('./'), `${b.name}: ${b.source} relative to the repository`).toBe(true);
      expect(existsSync(b.source), `${b.name}: ${b.source}`).toBe(true);
      expect(b.mode, `${b.name}: ${b.source}`).toBe('ro');
    }
  });

  it('pins every image it pulls to an exact version, and builds its own', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        expect(s.image, name).toBe('tsunagaru:latest');
        continue;
      }
      expect(s.image, name).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+$/);
    }
    expect(services.mosquitto?.image).toMatch(/^eclipse-mosquitto:2\.0\.\d+$/);
    expect(services.redis?.image).toMatch(/^redis:7\.\d+\.\d+$/);
    expect(services.influxdb?.image).toMatch(/^influxdb:2\.7\.\d+$/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana-oss:11\.6\./);
  });

  it('gives every service a healthcheck, and every dependency waits for health', () => {
    for (const [name, s] of Object.entries(services)) {
      const test = s.healthcheck?.test;
      expect(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(test[0]!) && test.length > 1, `${name}: healthcheck.test`).toBe(true);
      for (const target of dependsOn(s)) {
        expect(Array.isArray(s.depends_on), `${name}: depends_on as a map with conditions`).toBe(false);
        expect((s.depends_on as Record<string, { condition?: string }>)[target]?.condition, `${name} → ${target}`).toBe('service_healthy');
      }
    }
    // Ours probe what they serve: the API's public health, or MQTT for the broker-only nodes.
    for (const name of ingests) expect(services[name]!.healthcheck?.test, name).toEqual(['CMD', 'node', 'dist/scripts/healthcheck.js']);
    for (const name of brokers) expect(services[name]!.healthcheck?.test, name).toEqual(['CMD', 'node', 'dist/scripts/healthcheck.js', '--mqtt']);
    expect(existsSync('scripts/healthcheck.ts')).toBe(true);
  });

  it('gives every ingest its own data volume and client id; workers share one subscription group', () => {
    const dataVolumes = ingests.map((n) => (services[n]!.volumes ?? []).map(parseVolume).find((v) => v.target === '/data')?.source);
    expect(dataVolumes.every(Boolean), 'every ingest has a /data volume').toBe(true);
    expect(new Set(dataVolumes).size).toBe(dataVolumes.length);
    const clientIds = ingests.filter((n) => n !== 'tsunagaru').map((n) => envOf(n).INGEST_CLIENT_ID);
    expect(clientIds.every(Boolean), 'every standalone ingest names its client id').toBe(true);
    expect(new Set(clientIds).size).toBe(clientIds.length);

    const workers = servicesOf(compose, 'mosquitto').filter((n) => envOf(n).INGEST_SHARE_GROUP);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    for (const w of workers) expect(envOf(w)).toMatchObject({ INGEST_SHARE_GROUP: 'ingest', INGEST_ALERTS: 'off', STORE: 'influx-v2', MQTT_URL: 'mqtt://mosquitto:1883' });
    // Alerts and the console need every message in one process: exactly one non-shared ingest per shape.
    for (const profile of ['mosquitto', 'aedes-cluster']) {
      const full = servicesOf(compose, profile).filter((n) => ingests.includes(n) && !envOf(n).INGEST_SHARE_GROUP);
      expect(full, profile).toHaveLength(1);
      expect(envOf(full[0]!).INGEST_ALERTS, profile).toBe('on');
      expect(services[full[0]!]!.ports, profile).toContain('8080:8080');
    }
    // aedes 1.2 is MQTT 3.1.1: no $share, and it binds client ids to the username (`user` or `user:…`).
    for (const n of servicesOf(compose, 'aedes-cluster').filter((n) => ingests.includes(n))) {
      const env = envOf(n);
      expect(env.INGEST_SHARE_GROUP, n).toBeUndefined();
      expect(env.INGEST_CLIENT_ID === env.MQTT_USERNAME || env.INGEST_CLIENT_ID?.startsWith(`${env.MQTT_USERNAME}:`), n).toBe(true);
    }
  });

  it('runs the aedes nodes on one Redis, reachable under one name, each with its own id and host port', () => {
    expect(brokers.length).toBeGreaterThanOrEqual(2);
    const ids = brokers.map((b) => envOf(b).BROKER_ID);
    expect(new Set(ids).size).toBe(brokers.length);
    for (const b of brokers) {
      expect(envOf(b).BROKER_REDIS_URL, b).toBe('redis://redis:6379');
      expect((services[b]!.networks as Record<string, { aliases?: string[] }>).default?.aliases, b).toContain('broker');
      expect(services[b]!.volumes, b).toContain('registry:/data/registry:ro');
    }
    const hostPorts = brokers.flatMap((b) => (services[b]!.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    expect(services.redis?.command?.join(' ')).toMatch(/--appendonly yes/);
    // The nodes wait for a Redis that answers: the healthcheck they wait on must exist.
    for (const b of brokers) expect(services[b]!.depends_on, b).toMatchObject({ redis: { condition: 'service_healthy' } });
    expect(services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(envOf('ingest').MQTT_URL).toBe('mqtt://broker:1883');
  });
});

describe('docker-compose.yml environments, through our config loaders', () => {
  /** Read by scripts/start.ts itself, not by loadIngestConfig (single node only). */
  const START_SCRIPT_ONLY = ['LOG_FILE', 'SIMULATORS', 'MQTT_HOST'];

  it.each(brokers)('%s: loadBrokerConfig reads every variable and accepts it', (name) => {
    const env = envOf(name);
    const { config, read } = readBy(loadBrokerConfig, env);
    expect(Object.keys(env).filter((k) => !read.has(k)), 'set in compose, never read by broker/src/config.ts').toEqual([]);
    expect(config).toMatchObject({ dataDir: '/data', host: '0.0.0.0', port: 1883 });
    const text = JSON.stringify(config);
    expect(text, 'the Redis URL reaches the config').toContain(env.BROKER_REDIS_URL);
    expect(text, 'the node id reaches the config').toContain(`"${env.BROKER_ID}"`);
  });

  it.each(ingests)('%s: loadIngestConfig reads every variable and accepts it', (name) => {
    const env = envOf(name);
    const { config, read } = readBy(loadIngestConfig, env);
    const ignored = name === 'tsunagaru' ? START_SCRIPT_ONLY : [];
    expect(Object.keys(env).filter((k) => !read.has(k) && !ignored.includes(k)), 'set in compose, never read by ingest/src/config.ts').toEqual([]);
    const c = config as ReturnType<typeof loadIngestConfig>;
    expect(c.dataDir).toBe('/data');
    expect(c.storage.stores).toEqual(env.STORE!.split(','));
    if (c.storage.stores.includes('influx-v2')) expect(c.storage.influx).toMatchObject({ url: 'http://influxdb:8086', org: 'tsunagaru', bucket: 'tsunagaru', token: OPERATOR_ENV.TSUNAGARU_INFLUX_TOKEN });
    if (env.INGEST_CLIENT_ID) expect(JSON.stringify(c), 'the client id reaches the config').toContain(`"${env.INGEST_CLIENT_ID}"`);
    if (env.MQTT_URL) expect(c).toMatchObject({ mqttUrl: env.MQTT_URL, mqttUsername: env.MQTT_USERNAME, mqttPassword: OPERATOR_ENV.TSUNAGARU_INGEST_MQTT_PASSWORD });
  });

  it('refuses to start without the operator secrets (compose ${VAR:?} interpolation)', () => {
    for (const missing of Object.keys(OPERATOR_ENV)) {
      const partial = Object.fromEntries(Object.entries(OPERATOR_ENV).filter(([k]) => k !== missing));
      const users = Object.keys(services).filter((n) => JSON.stringify(services[n]!.environment ?? {}).includes(`\${${missing}:?`));
      expect(users.length, missing).toBeGreaterThan(0);
      for (const n of users) expect(() => interpolate(services[n]!.environment, partial), `${n} without ${missing}`).toThrow(missing);
    }
  });
});
