/**
 * An integrations scenario scored end to end: our broker and the ingest in this process, wired as
 * `npm start` wires them (the embedded tap: a PUBACK only once journalled), on a temporary DATA_DIR, with
 * CHIRPSTACK=on and SPARKPLUG=on. The meters and edge nodes are provisioned through the API, ChirpStack and
 * the edge nodes log in as integration principals made by POST /api/v1/integrations, the simulators run,
 * and the scorecard holds each device's ledger, boot by boot, to what the simulators dropped.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, MemoryDeviceRegistry } from '@tsunagaru/broker';
import { createEmbeddedTap, loadIntegrationsConfig, loadStorageConfig, startIngestService } from '@tsunagaru/ingest';
import { pino, type Logger } from 'pino';
import { SimulatorError } from '../errors.js';
import { loraMeterIds } from '../integrations-cli.js';
import { runChirpStackFleet } from '../lorawan/chirpstack-fleet.js';
import { dcPlant, pumpStation, type SimulatedSite } from '../sparkplug/edge-fleet.js';
import type { IntegrationsScenario } from './schema.js';

/** One boot of one device: what the simulator says the ledger must show, and what it shows. */
export interface BootScore {
  boot: number;
  /** Frames or messages published (the ledger's `received`). */
  expectedReceived: number;
  received: number | null;
  /** Dropped below the highest one delivered: the gaps the ledger can know of. */
  expectedMissing: number;
  missing: number | null;
}

export interface DeviceScore {
  deviceId: string;
  integration: 'chirpstack' | 'sparkplug';
  /** Everything the simulator dropped (some after the last delivered one: no ledger can see those). */
  dropped: number;
  boots: BootScore[];
  ok: boolean;
}

export interface IntegrationsScorecard {
  devices: DeviceScore[];
  dropped: number;
  expectedMissing: number;
  ledgerMissing: number;
  ok: boolean;
}

export interface IntegrationsScoredRun {
  scorecard: IntegrationsScorecard;
  /** Rebirth requests the edge nodes received (a gap the host saw). */
  rebirthRequests: number;
  published: number;
}

const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const siteId = (kind: 'pump' | 'plant', node: string) => `${kind}-${node.toLowerCase()}`;

export function formatIntegrationsScorecard(s: IntegrationsScorecard): string {
  const lines = s.devices.map((d) => `  ${d.ok ? 'ok  ' : 'MISS'} ${d.deviceId} (${d.integration}): ${d.boots.map((b) => `boot ${b.boot} received ${b.received ?? '-'}/${b.expectedReceived} missing ${b.missing ?? '-'}/${b.expectedMissing}`).join('; ')}`);
  return [`integrations: dropped ${s.dropped}, of which before the last delivered ${s.expectedMissing}; the ledger's missing ${s.ledgerMissing}`, ...lines].join('\n');
}

export async function runIntegrationsScoredScenario(o: { scenario: IntegrationsScenario; seed?: number; logger?: Logger; timeoutMs?: number }): Promise<IntegrationsScoredRun> {
  const sc = o.scenario;
  const seed = o.seed ?? sc.seed ?? 1;
  const logger = o.logger ?? pino({ level: 'silent' });
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tsunagaru-integrations-'));
  const registry = new MemoryDeviceRegistry({ scryptN: 1024 });
  const ingestPassword = randomBytes(18).toString('base64url');
  await registry.upsertService('tsunagaru-ingest', 'ingest', ingestPassword);
  const tap = createEmbeddedTap();
  const broker = await createBroker({ registry, logger: logger.child({ service: 'broker' }), beforePuback: tap.beforePuback, publishLimits: false });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...(sc.chirpstack ? { CHIRPSTACK: 'on', CHIRPSTACK_APPLICATION_IDS: sc.chirpstack.applicationId } : {}),
    ...(sc.sparkplug ? { SPARKPLUG: 'on', SPARKPLUG_GROUPS: sc.sparkplug.group, SPARKPLUG_REORDER_TIMEOUT_MS: '500' } : {}),
  };
  const ingest = await startIngestService({
    config: { dataDir: dir, httpHost: '127.0.0.1', httpPort: 0, mqttUrl, mqttUsername: 'tsunagaru-ingest', adminToken: ADMIN_TOKEN, integrations: loadIntegrationsConfig(env) },
    mqttPassword: ingestPassword, registry, logger: logger.child({ service: 'ingest' }), embedded: tap,
    storage: loadStorageConfig({ INGEST_BATCH_LINGER_MS: '0', JOURNAL_MIN_FREE_MB: '0' }),
  });
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(path, ingest.httpUrl), { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    const body = (await res.json()) as Record<string, any>;
    if (!res.ok) throw new SimulatorError('SIM_ERR_RUN', `${init.method ?? 'GET'} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const provision = (id: string, type: string, attributes: Record<string, string>) => api('/api/v1/devices', { method: 'POST', body: JSON.stringify({ id, type, attributes }) });
  const principal = async (body: Record<string, string>) => {
    const r = await api('/api/v1/integrations', { method: 'POST', body: JSON.stringify(body) });
    return { username: String(r['mqtt']['username']), password: String(r['secret']) };
  };
  try {
    const devices: DeviceScore[] = [];
    let rebirthRequests = 0;
    let published = 0;
    const runs: Array<Promise<void>> = [];

    if (sc.chirpstack) {
      const cs = sc.chirpstack;
      const meters = loraMeterIds(cs.meters);
      for (const m of meters) await provision(m.deviceName, 'water-meter', { devEui: m.devEui });
      const login = await principal({ type: 'chirpstack', applicationId: cs.applicationId });
      runs.push(
        (async () => {
          const run = await runChirpStackFleet({
            url: mqttUrl, ...login, applicationId: cs.applicationId, meters, frames: cs.frames, sampleSec: cs.sampleSec, seed,
            lossRate: cs.lossRate, rejoinEvery: cs.rejoinEvery, statusEvery: cs.statusEvery, ...(cs.lateBatch ? { lateBatch: cs.lateBatch } : {}),
          });
          await run.close();
          run.truth.forEach((t, i) => {
            published += t.published;
            devices.push({
              deviceId: meters[i]!.deviceName, integration: 'chirpstack', ok: false,
              dropped: t.sessions.reduce((n, s) => n + s.lost.length, 0),
              boots: t.sessions.map((s) => ({ boot: s.session, expectedReceived: s.sent - s.lost.length, received: null, expectedMissing: s.expectedMissing, missing: null })),
            });
          });
        })(),
      );
    }

    if (sc.sparkplug) {
      const sp = sc.sparkplug;
      const nodes = [
        ...Array.from({ length: sp.pumpStations }, (_, i) => ({ node: `PS${String(i + 1).padStart(2, '0')}`, kind: 'pump' as const })),
        ...Array.from({ length: sp.dcPlants }, (_, i) => ({ node: `DC${String(i + 1).padStart(2, '0')}`, kind: 'plant' as const })),
      ];
      const login = await principal({ type: 'sparkplug', groupId: sp.group });
      for (const n of nodes) {
        await provision(siteId(n.kind, n.node), n.kind === 'pump' ? 'water-meter' : 'bs-power', { sparkplugGroup: sp.group, sparkplugNode: n.node, sparkplugProfile: n.kind === 'pump' ? 'pump-station' : 'dc-plant' });
      }
      runs.push(
        (async () => {
          const conn = { url: mqttUrl, ...login, groupId: sp.group, primaryHostId: 'tsunagaru' };
          const sites: SimulatedSite[] = nodes.map((n) => (n.kind === 'pump' ? pumpStation : dcPlant)({ ...conn, clientId: `${login.username}:${n.node}`, edgeNodeId: n.node, seed, sampleSec: sp.sampleSec }));
          let n = 0;
          if (sp.dropEvery > 0) for (const s of sites) s.node.drop = () => ++n % sp.dropEvery === 0;
          const t0 = Date.now() - (sp.rounds + 1) * sp.sampleSec * 1000;
          try {
            for (const s of sites) await s.start(t0);
            for (let r = 1; r <= sp.rounds; r++) {
              for (const s of sites) await s.step(t0 + r * sp.sampleSec * 1000);
              // The host's reorder timeout and rebirth requests run meanwhile, as on a live network.
              await new Promise((res) => setTimeout(res, 20));
            }
          } finally {
            nodes.forEach((node, i) => {
              const births = sites[i]!.node.settle();
              rebirthRequests += sites[i]!.node.rebirthRequests;
              published += births.reduce((x, b) => x + b.sent - b.dropped.length, 0);
              devices.push({
                deviceId: siteId(node.kind, node.node), integration: 'sparkplug', ok: false,
                dropped: births.reduce((x, b) => x + b.dropped.length, 0),
                boots: births.map((b, boot) => ({ boot, expectedReceived: b.sent - b.dropped.length, received: null, expectedMissing: b.expectedMissing, missing: null })),
              });
            });
            for (const s of sites) await s.node.stop(Date.now()).catch(() => s.node.close());
          }
        })(),
      );
    }
    await Promise.all(runs);

    // The ledger catches up with what was published (journalled before each PUBACK; stored just after).
    const ledgerOf = async (id: string) => ((await api(`/api/v1/ledger/${id}`))['boots'] as Array<{ boot: number; received: number; missing: number }>) ?? [];
    const received = (boots: Array<{ received: number }>) => boots.reduce((x, b) => x + b.received, 0);
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    for (const d of devices) {
      const want = d.boots.reduce((x, b) => x + b.expectedReceived, 0);
      let boots = await ledgerOf(d.deviceId).catch(() => []);
      while (received(boots) < want && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        boots = await ledgerOf(d.deviceId).catch(() => []);
      }
      for (const b of d.boots) {
        const seen = boots.find((x) => x.boot === b.boot);
        b.received = seen?.received ?? null;
        b.missing = seen?.missing ?? null;
      }
      d.ok = boots.length === d.boots.length && d.boots.every((b) => b.received === b.expectedReceived && b.missing === b.expectedMissing);
    }
    devices.sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    const scorecard: IntegrationsScorecard = {
      devices,
      dropped: devices.reduce((x, d) => x + d.dropped, 0),
      expectedMissing: devices.reduce((x, d) => x + d.boots.reduce((y, b) => y + b.expectedMissing, 0), 0),
      ledgerMissing: devices.reduce((x, d) => x + d.boots.reduce((y, b) => y + (b.missing ?? 0), 0), 0),
      ok: devices.every((d) => d.ok),
    };
    return { scorecard, rebirthRequests, published };
  } finally {
    await ingest.close();
    await broker.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
