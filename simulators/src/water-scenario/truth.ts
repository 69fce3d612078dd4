/**
 * The ground truth of a water scenario, from the simulated world itself: per DMA and local day the water
 * its network lost (background leakage plus injected leaks: the true non-revenue water) and what its
 * inlet let in; the leaks with their start and the first night they show in; the welfare households and
 * what happened to each (including the dripping one); the late-batch meters; the baths.
 */
import { networkLossLitres } from '../dma-inlet.js';
import { deriveSeed } from '../rng.js';
import { WaterMeterModel } from '../water-meter.js';
import type { CompiledWaterScenario } from './compile.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** JST: the bureau's days and nights. */
const OFFSET = 9 * HOUR;
const NIGHT = { startHour: 2, endHour: 4 };

export interface WaterTruthDay {
  dma: string;
  /** Local date (JST). */
  date: string;
  from: number;
  to: number;
  /** Litres lost in the network that day: the true non-revenue water. */
  nonRevenueLitres: number;
  /** Litres through the inlet that day (households' true use + losses). */
  inletLitres: number;
  /** Customer meters silent (dead) before the day ended: its balance cannot be complete. */
  silentMeters: string[];
}

export interface WaterTruth {
  scenario: string;
  seed: number;
  t0: number;
  endTs: number;
  days: WaterTruthDay[];
  leaks: Array<{ dma: string; fromTs: number; toTs: number | null; lph: number; firstNight: string | null }>;
  welfare: Array<{ deviceId: string; dma: string; event: 'stops-using-water' | 'meter-silent' | 'none'; atTs: number | null; dripLph: number | null }>;
  lateBatch: Array<{ deviceId: string; dma: string; readingEverySec: number; batchSize: number; deliveredEveryHours: number }>;
  baths: Array<{ deviceId: string; fromTs: number; lph: number; minutes: number }>;
  /** The alerts that must be raised (rule, managed object), and the night a night-flow alert is about. */
  expectedAlerts: Array<{ rule: string; deviceId: string; fromTs: number; night?: string }>;
}

const localDate = (ts: number) => new Date(ts + OFFSET).toISOString().slice(0, 10);
const dayStart = (ts: number) => Math.floor((ts + OFFSET) / DAY) * DAY - OFFSET;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** The first local night whose window starts at or after `ts`. */
export function firstNightAfter(ts: number): string {
  for (let d = dayStart(ts); ; d += DAY) if (d + NIGHT.startHour * HOUR >= ts) return localDate(d);
}

export function waterTruth(c: CompiledWaterScenario, seed: number): WaterTruth {
  const days: WaterTruthDay[] = [];
  for (const d of c.scenario.dmas) {
    const households = c.devices.filter((x) => x.spec.attributes['dma'] === d.id && x.spec.attributes['site'] !== 'dma-inlet');
    const models = households.map((h) => new WaterMeterModel({ ...h.spec.simulation, seed: deriveSeed(seed, h.spec.id), sampleSec: h.spec.sampleSec }));
    for (let from = dayStart(c.t0); from < c.endTs; from += DAY) {
      const to = from + DAY;
      const loss = networkLossLitres(c.networks[d.id]!, from, to);
      const used = models.reduce((s, m) => s + m.consumedBetween(from, to), 0);
      const silentMeters = households.filter((h) => h.spec.simulation?.batteryDeadAtTs !== undefined && h.spec.simulation.batteryDeadAtTs < to).map((h) => h.spec.id);
      days.push({ dma: d.id, date: localDate(from), from, to, nonRevenueLitres: round1(loss), inletLitres: round1(loss + used), silentMeters });
    }
  }
  const leaks = Object.entries(c.networks).flatMap(([dma, n]) => n.leaks.map((l) => ({ dma, fromTs: l.fromTs, toTs: l.toTs ?? null, lph: l.lph, firstNight: l.fromTs < c.endTs ? firstNightAfter(l.fromTs) : null })));
  const welfare = c.devices
    .filter((x) => x.spec.attributes['welfareWatch'] === true)
    .map((x) => {
      const sim = x.spec.simulation ?? {};
      const event = sim.vacantFromTs !== undefined ? 'stops-using-water' : sim.batteryDeadAtTs !== undefined ? 'meter-silent' : 'none';
      return { deviceId: x.spec.id, dma: String(x.spec.attributes['dma']), event, atTs: sim.vacantFromTs ?? sim.batteryDeadAtTs ?? null, dripLph: sim.leak?.lph ?? null } as WaterTruth['welfare'][number];
    });
  const expectedAlerts: WaterTruth['expectedAlerts'] = [
    // One night-flow alert per DMA whose network leaks, about the first night after the leak began.
    ...leaks.filter((l) => l.firstNight !== null && Date.parse(`${l.firstNight}T04:00:00+09:00`) <= c.endTs).map((l) => ({ rule: 'dma-night-flow', deviceId: `dma:${l.dma}`, fromTs: l.fromTs, night: l.firstNight! })),
    ...welfare.filter((w) => w.event !== 'none' && w.atTs! < c.endTs).map((w) => ({ rule: w.event === 'meter-silent' ? 'welfare-silent' : 'welfare-watch', deviceId: w.deviceId, fromTs: w.atTs! })),
  ];
  return {
    scenario: c.scenario.name, seed, t0: c.t0, endTs: c.endTs, days, leaks, welfare,
    lateBatch: c.devices.filter((x) => x.reading === 'batch').map((x) => ({ deviceId: x.spec.id, dma: String(x.spec.attributes['dma']), readingEverySec: x.spec.sampleSec, batchSize: c.batchSize, deliveredEveryHours: (x.spec.sampleSec * c.batchSize) / 3600 })),
    baths: c.devices.flatMap((x) => (x.spec.simulation?.bath ? [{ deviceId: x.spec.id, fromTs: x.spec.simulation.bath.fromTs, lph: x.spec.simulation.bath.lph ?? 500, minutes: x.spec.simulation.bath.minutes ?? 30 }] : [])),
    expectedAlerts,
  };
}
