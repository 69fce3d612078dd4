/**
 * The peer of the ingest-e2e suite: a Node-RED 4 flow doing the ingest's job (MQTT in → JSON → map to
 * points → InfluxDB), installed from npm into the git-ignored `.bench-cache/node-red` at bench time and run
 * headless (no editor, no admin API) from generated settings.js, flows.json and flows_cred.json.
 *
 * The flow is what a competent Node-RED user builds for thousands of messages a second: one `influxdb batch`
 * write per message would be one HTTP request per reading-sample, so messages are grouped with the core
 * `join` node (count and time limit equal to the ingest's own INGEST_BATCH_SIZE / INGEST_BATCH_LINGER_MS
 * defaults, 1,000 messages or 20 ms) and written with node-red-contrib-influxdb's `influxdb batch` node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const NODE_RED_PREFIX = join(ROOT, '.bench-cache', 'node-red');
const RED_JS = join(NODE_RED_PREFIX, 'node_modules', 'node-red', 'red.js');
const INFLUX_NODE = join(NODE_RED_PREFIX, 'node_modules', 'node-red-contrib-influxdb', 'influxdb.js');
/** node-red 5 needs Node 22; the project runs on Node 20. */
const PACKAGES = ['node-red@4', 'node-red-contrib-influxdb@0.7'];

/** Installs Node-RED into the scratch folder unless it is already there (never into the repo's workspaces). */
export function ensureNodeRed(progress: (m: string) => void): void {
  if (existsSync(RED_JS) && existsSync(INFLUX_NODE)) return;
  progress(`installing ${PACKAGES.join(' ')} into .bench-cache/node-red (npm, about a minute, once)`);
  mkdirSync(NODE_RED_PREFIX, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // npm's output goes to stderr with the progress lines: stdout carries the runner's report.
  const r = spawnSync(npm, ['install', '--prefix', NODE_RED_PREFIX, '--no-audit', '--no-fund', '--loglevel', 'error', ...PACKAGES], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !existsSync(RED_JS)) throw new Error(`npm install of ${PACKAGES.join(' ')} failed (exit ${r.status})`);
}

/** The installed versions, for the report: `node-red 4.1.15, node-red-contrib-influxdb 0.7.0`. */
export function nodeRedVersions(): string {
  const version = (pkg: string) => (JSON.parse(readFileSync(join(NODE_RED_PREFIX, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  return `node-red ${version('node-red')}, node-red-contrib-influxdb ${version('node-red-contrib-influxdb')}`;
}

export interface NodeRedFlowOptions {
  mqtt: { host: string; port: number; username: string; password: string };
  influx: { host: string; port: number; database: string; username: string; password: string };
  /** Subscription topic filter; the contract's telemetry channel. */
  topic: string;
  /** join node: messages per group and time limit (defaults 1,000 and 20 ms, the ingest's batch defaults). */
  joinCount?: number;
  joinTimeoutMs?: number;
}

/**
 * Contract Telemetry → InfluxDB points, same measurement/tags/timestamps as the ingest's schema
 * (docs/influxdb-schema.md) so both systems hold the same points. Only scalar readings: the bench's samples
 * carry no `alarms` arrays.
 */
const TO_POINTS = `const [, , type, deviceId] = msg.topic.split('/');
const m = msg.payload;
if (!m || !Array.isArray(m.samples) || m.id !== deviceId) { node.warn('not a telemetry message: ' + msg.topic); return null; }
const measurement = type.replace('-', '_');
msg.payload = m.samples.map((s) => {
  const fields = { boot: m.boot, seq: m.seq, replay: m.replay === true };
  for (const k in s) if (k !== 'ts' && (typeof s[k] === 'number' || typeof s[k] === 'boolean' || typeof s[k] === 'string')) fields[k] = s[k];
  return { measurement, tags: { deviceId, type }, fields, timestamp: s.ts };
});
return msg;`;

/** The join node builds an array of the messages' point arrays; the batch node wants one flat array. */
const FLATTEN = 'msg.payload = msg.payload.flat();\nreturn msg;';

export function nodeRedFlow(o: NodeRedFlowOptions): { flows: unknown[]; credentials: Record<string, unknown> } {
  const tab = 'tab-ingest';
  const flows = [
    { id: tab, type: 'tab', label: 'Tsunagaru telemetry → InfluxDB', disabled: false },
    {
      id: 'broker', type: 'mqtt-broker', name: 'mosquitto', broker: o.mqtt.host, port: String(o.mqtt.port), clientid: 'nodered-bench', autoConnect: true,
      usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, autoUnsubscribe: true,
      birthTopic: '', closeTopic: '', willTopic: '',
    },
    { id: 'influx', type: 'influxdb', hostname: o.influx.host, port: String(o.influx.port), protocol: 'http', database: o.influx.database, name: 'influxdb 1.6', usetls: false, influxdbVersion: '1.x' },
    { id: 'in', z: tab, type: 'mqtt in', name: 'telemetry', topic: o.topic, qos: '1', datatype: 'utf8', broker: 'broker', nl: false, rap: true, rh: 0, inputs: 0, x: 100, y: 80, wires: [['json']] },
    { id: 'json', z: tab, type: 'json', name: '', property: 'payload', action: 'obj', pretty: false, x: 250, y: 80, wires: [['points']] },
    { id: 'points', z: tab, type: 'function', name: 'contract samples → points', func: TO_POINTS, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 420, y: 80, wires: [['join']] },
    {
      id: 'join', z: tab, type: 'join', name: 'batch', mode: 'custom', build: 'array', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str',
      useparts: false, accumulate: false, timeout: String((o.joinTimeoutMs ?? 20) / 1000), count: String(o.joinCount ?? 1000), reduceRight: false, x: 600, y: 80, wires: [['flatten']],
    },
    { id: 'flatten', z: tab, type: 'function', name: 'flatten', func: FLATTEN, outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 720, y: 80, wires: [['write']] },
    { id: 'write', z: tab, type: 'influxdb batch', influxdb: 'influx', precision: 'ms', retentionPolicy: '', name: 'write', x: 850, y: 80, wires: [] },
  ];
  const credentials = { broker: { user: o.mqtt.username, password: o.mqtt.password }, influx: { username: o.influx.username, password: o.influx.password } };
  return { flows, credentials };
}

export interface RunningNodeRed {
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Writes the user dir and starts `node-red -u dir -s settings.js`; resolves once its MQTT client is connected. */
export async function startNodeRed(userDir: string, flow: NodeRedFlowOptions, timeoutMs = 60_000): Promise<RunningNodeRed> {
  const { flows, credentials } = nodeRedFlow(flow);
  const port = await freePort();
  // httpAdminRoot false: no editor and no admin API; the runtime still binds uiPort, on loopback only.
  const settings = `module.exports = {
  uiHost: '127.0.0.1', uiPort: ${port}, httpAdminRoot: false, httpNodeRoot: false,
  flowFile: 'flows.json', credentialSecret: false, userDir: ${JSON.stringify(userDir)},
  nodesDir: [${JSON.stringify(join(NODE_RED_PREFIX, 'node_modules', 'node-red-contrib-influxdb'))}],
  logging: { console: { level: 'info', metrics: false, audit: false } },
  diagnostics: { enabled: false }, runtimeState: { enabled: false }, telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
};\n`;
  writeFileSync(join(userDir, 'settings.js'), settings);
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows, null, 1));
  writeFileSync(join(userDir, 'flows_cred.json'), JSON.stringify(credentials), { mode: 0o600 });
  const child: ChildProcess = spawn(process.execPath, [RED_JS, '-u', userDir, '-s', join(userDir, 'settings.js')], { cwd: userDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED not connected to the broker after ${timeoutMs} ms:\n${out.slice(-3000)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/Connected to broker/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited with ${code}:\n${out.slice(-3000)}`));
    });
  });
  return {
    pid: child.pid!,
    output: () => out.slice(-5000),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
