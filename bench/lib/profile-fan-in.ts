/**
 * `npx tsx bench/lib/profile-fan-in.ts [qos0|qos1|both|connect]`: our standalone broker under the fan-in load
 * (or, with `connect`, under PROFILE_CONNECTIONS (2000) logins with scrypt N=1024 hashes)
 * with `node --cpu-prof`, then where its CPU went: self time by function and the inclusive time of
 * our own hooks. The profile file is kept (its path is printed) for Chrome DevTools / speedscope.
 * Env: PROFILE_PUBLISHERS (100), PROFILE_SECONDS (8 per phase).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGEST_USERNAME, makeFleet, REPO_ROOT, startOurs, type Fleet } from './brokers.js';
import { saturate, type Load } from '../suites/broker-fan-in.js';
import { formatCpu } from './proc.js';
import { startWorker } from './worker.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const where = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(`${REPO_ROOT}/`, '');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url.replace(/.*node_modules\//, '~/')}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};

/** Self and inclusive sample counts per function (inclusive counts a function once per stack). */
export function summarizeProfile(profile: CpuProfile): { total: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const id of profile.samples) {
    const leaf = byId.get(id)!;
    self.set(where(leaf), (self.get(where(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = where(byId.get(cur)!);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  }
  return { total: profile.samples.length, self, inclusive };
}

function top(map: Map<string, number>, total: number, n: number, filter: (k: string) => boolean = () => true): string {
  return [...map.entries()]
    .filter(([k]) => filter(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'both';
  const publishers = Number(process.env.PROFILE_PUBLISHERS ?? 100);
  const seconds = Number(process.env.PROFILE_SECONDS ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'tsunagaru-profile-'));
  const connecting = which === 'connect';
  const fleet: Fleet = {
    devices: connecting
      ? makeFleet('prof', Number(process.env.PROFILE_CONNECTIONS ?? 2000), 1024, 'bench-fan-in-secret-0123456789')
      : makeFleet('prof', publishers, 16384, 'bench-fan-in-secret-0123456789'),
    ingest: { username: INGEST_USERNAME, password: 'bench-ingest-secret-0123456789' },
  };
  const broker = await startOurs(fleet, { env: { MQTT_MAX_CONNECTIONS: String(fleet.devices.length + 100) }, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'] });
  const subscriber = await startWorker(join(REPO_ROOT, 'bench/lib/load/subscriber-worker.ts'), 'subscriber');
  const devices = await startWorker(join(REPO_ROOT, 'bench/lib/load/device-worker.ts'), 'publishers');
  try {
    await subscriber.request({ type: 'connect', host: '127.0.0.1', port: broker.port, username: fleet.ingest.username, password: fleet.ingest.password, filter: 'tsunagaru/v1/#' });
    const c = await devices.request<{ connected: number; elapsedMs: number }>({
      type: 'connect', host: '127.0.0.1', port: broker.port, devices: fleet.devices, concurrency: connecting ? 64 : 32, sourceAddresses: connecting ? 64 : 32,
    }, 600_000);
    process.stderr.write(`${c.connected} logins in ${(c.elapsedMs / 1000).toFixed(1)} s = ${Math.round(c.connected / (c.elapsedMs / 1000))}/s\n`);
    const load: Load = { publishers, saturateMs: seconds * 1000, warmupMs: 1000, latencyRate: 0, latencyMs: 0 };
    for (const qos of connecting ? [] : which === 'both' ? ([0, 1] as const) : [which === 'qos0' ? (0 as const) : (1 as const)]) {
      // The same phase as the suite's, so the profile shows the load the benchmark measures.
      const r = await saturate(qos, load, broker, devices, subscriber);
      process.stderr.write(`QoS ${qos}: ${Math.round(r.rate)} msg/s delivered, ${r.lost} lost; CPU ${formatCpu(r.usage)}\n`);
    }
  } finally {
    await devices.stop();
    await subscriber.stop();
    await broker.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const { total, self, inclusive } = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile);
  const out = process.stdout;
  out.write(`profile ${join(dir, file)}: ${total} samples\n\nself time, top 35:\n${top(self, total, 35)}\n\n`);
  out.write(`inclusive, our code (broker/src):\n${top(inclusive, total, 25, (k) => k.includes('broker/src/'))}\n\n`);
  out.write(`inclusive, aedes / mqtt-packet / pino / streams, top 30:\n${top(inclusive, total, 30, (k) => /aedes|mqtt-packet|mqemitter|pino|qlobber|stream|node:/.test(k))}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
