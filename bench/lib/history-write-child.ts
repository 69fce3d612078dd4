/**
 * The history suite's live write rate, in a process of its own: the store opened as the ingest opens it
 * (openEmbeddedStore: writer, latest values, rollups), one reading cycle of the whole fleet written in the
 * drainer's batches of INGEST_BATCH_SIZE, then the fold the maintenance loop would do for them. Prints
 * `RESULT {"messages", "writeMs", "foldMs"}`.
 *
 * Env: DATA_DIR, METERS, DMAS, CYCLE_TS (epoch ms of the cycle's readings), SEQ (their sequence number).
 */
import type { Telemetry } from '@tsunagaru/firmware-contracts';
import { openEmbeddedStore, type StorableMessage } from '@tsunagaru/ingest';
import { dmaId, meterId, type Fleet } from './history-generate.js';

const fleet: Fleet = { meters: Number(process.env.METERS), dmas: Number(process.env.DMAS) };
const cycleTs = Number(process.env.CYCLE_TS);
const seq = Number(process.env.SEQ);
const batchSize = Number(process.env.INGEST_BATCH_SIZE || 1000);

const store = await openEmbeddedStore(process.env.DATA_DIR!, { attributes: (id) => ({ dma: dmaId(Number(id.slice(3, 6)) - 1) }) });
const messages: StorableMessage[] = [];
for (let i = 0; i < fleet.meters; i++) {
  const id = meterId(fleet, i);
  const ts = cycleTs + ((i * 7919) % 900_000);
  messages.push({ channel: 'telemetry', type: 'water-meter', deviceId: id, receivedAt: ts + 3000, payload: { v: 1, id, boot: 1, seq, ts, samples: [{ ts, indexL: 2_000_000 + i, flowLph: (i % 9) * 4, batteryPct: 87.5 }] } as Telemetry });
}
const t0 = performance.now();
for (let i = 0; i < messages.length; i += batchSize) {
  const outcomes = await store.writer.write(messages.slice(i, i + batchSize));
  if (outcomes.some((o) => o !== 'stored')) throw new Error(`batch at ${i}: not all stored (${outcomes.filter((o) => o !== 'stored').length} duplicates)`);
}
const writeMs = performance.now() - t0;
const t1 = performance.now();
await store.history.fold();
const foldMs = performance.now() - t1;
await store.close();
process.stdout.write(`RESULT ${JSON.stringify({ messages: messages.length, writeMs, foldMs })}\n`);
process.exit(0);
