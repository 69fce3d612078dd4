/**
 * `npm run fuzz -- [--messages 1000000] [--wire-share 0.1] [--raw 20000] [--seed N] [--json report.json]`
 * Runs the fuzz suite (harness.ts) against the real broker and ingest in this process and prints the
 * accounting. Exit status 1 if any message is unaccounted for, anything crashed, or the canary failed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runFuzz } from './harness.js';

const USAGE = `usage: npm run fuzz -- [options]

  --messages <n>       generated messages in all (default 1,000,000)
  --wire-share <0..1>  share sent over real MQTT; the rest goes straight into the ingest pipeline (default 0.1)
  --raw <n>            malformed raw-TCP packet sequences sent at the broker afterwards (default 20,000)
  --seed <n>           PRNG seed (default: from the clock, printed)
  --json <file>        also write the whole report as JSON
  --help, -h           show this help`;

let values;
try {
  ({ values } = parseArgs({
    strict: true,
    options: { messages: { type: 'string' }, 'wire-share': { type: 'string' }, raw: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (err) {
  process.stderr.write(`fuzz: ${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const messages = Number(values.messages ?? '1000000');
const wireShare = Number(values['wire-share'] ?? '0.1');
const rawPackets = Number(values.raw ?? '20000');
const seed = Number(values.seed ?? String(Date.now() % 1_000_000));
const jsonOut = values.json ?? '';
const bad = !Number.isInteger(messages) || messages < 1 ? '--messages: must be a whole number ≥ 1' : !(wireShare >= 0 && wireShare <= 1) ? '--wire-share: must be between 0 and 1' : !Number.isInteger(rawPackets) || rawPackets < 0 ? '--raw: must be a whole number ≥ 0' : !Number.isInteger(seed) ? '--seed: must be a whole number' : undefined;
if (bad) {
  process.stderr.write(`fuzz: ${bad}\n\n${USAGE}\n`);
  process.exit(2);
}

let lastLine = Date.now();
const line = (s: string) => {
  lastLine = Date.now();
  process.stdout.write(`${s}\n`);
};
// A harness that stops making progress (a stalled ingest, a hung connection) must fail, not hang.
setInterval(() => {
  if (Date.now() - lastLine < 10 * 60_000) return;
  process.stderr.write('fuzz: no progress for 10 minutes; giving up\n');
  process.exit(1);
}, 30_000).unref();
line(`fuzz: ${messages.toLocaleString('en')} messages (${Math.round(wireShare * 100)} % over MQTT), ${rawPackets.toLocaleString('en')} malformed packet sequences, seed ${seed}`);
const r = await runFuzz({ messages, wireShare, rawPackets, seed, log: line });
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(r, null, 2)}\n`);
const n = (x: number) => x.toLocaleString('en');
line('');
line(`sent            ${n(r.sent.total)}  (over MQTT ${n(r.sent.wire)}, into the pipeline ${n(r.sent.direct)})`);
line(`stored          ${n(r.outcomes.stored)}`);
line(`duplicates      ${n(r.outcomes.duplicate)}`);
line(`state / acks    ${n(r.outcomes.state)} / ${n(r.outcomes['command-ack'])}   ignored (cmd) ${n(r.outcomes.ignored)}`);
line(`dead-lettered   ${n(r.outcomes['dead-letter'])}  (kept in the store: ${n(r.checks.deadLettersInDb)}, newest ${n(r.checks.maxDeadLetters)}; without a reason: ${r.checks.deadLettersWithoutReason})`);
line(`denied (broker) ${n(r.outcomes.deniedByBroker)}  ${JSON.stringify(r.wire.brokerDenials)}`);
line(`reconciled      ${r.ok ? 'yes: sent = stored + duplicates + state + acks + ignored + dead-lettered + denied' : `NO: ${r.discrepancies.join('; ')}`}`);
line(`malformed MQTT  ${n(r.raw.sent)} sequences, ${n(r.raw.closedByBroker)} closed by the broker, canary after them stored: ${r.raw.canaryStored}`);
for (const r0 of r.direct.rejections) line(`pipeline threw: ${r0}`);
line(`crashes         ${r.crashes}${r.crashMessages.length ? `: ${r.crashMessages[0]}` : ''}`);
line(`error log lines ${r.errorLogLines.length}${r.errorLogLines.length ? `: ${r.errorLogLines[0]}` : ''}`);
line(`rss             start ${r.rss.startMb} MB, peak ${r.rss.peakMb} MB during ${r.rss.peakAt} (kernel VmHWM ${r.rss.kernelPeakMb} MB), end ${r.rss.endMb} MB`);
line(`rss by progress ${r.rss.checkpoints.map((c) => `${Math.round((c.sent / r.sent.total) * 100)}%:${c.rssMb}`).join(' ')}`);
line(`duration        ${Math.round(r.durationMs / 1000)} s (${n(Math.round(r.sent.total / (r.durationMs / 1000)))} messages/s)`);
process.exit(r.ok ? 0 : 1);
