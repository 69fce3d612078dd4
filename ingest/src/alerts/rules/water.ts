import { WATER_METER_ALARMS, type WaterMeterSample } from '@tsunagaru/firmware-contracts';
import { tierBelow } from '../thresholds.js';
import type { Condition, Severity } from '../types.js';
import type { LastSeen } from './device-status.js';
import { boolAttr, numberAttr, round1, type RuleContext } from './context.js';
import type { WakeAt } from '../due-devices.js';
import { DMA_INLET_SITE } from '../../water/balance.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** What the water rules remember per meter (persisted: the leak rule looks back 24 h). */
export interface MeterState {
  lastTs: number;
  lastIndexL: number;
  /** Start of the current run of intervals without flow. */
  dryRunStart: number | null;
  /** End of the last flow-free hour (the meter's first sample counts as one: no alarm on day one). */
  lastDryHourEnd: number;
  /** End of the last interval with use: flow above the welfare leak level (first sample counts as use). */
  lastUseTs: number;
  /**
   * The meter's steady flow (a drip, a running cistern): its lowest interval flow over the last 12–24 h,
   * kept in two 12-hour buckets. Optional: state saved before it existed has none.
   */
  steady?: { bucketStart: number; current: number | null; previous: number | null };
  /** Start of the current run of flow above the burst threshold. */
  highFlowSince: number | null;
  flowLph: number | null;
  reverse: boolean;
  batteryPct: number | null;
  /** Alarm flags the meter reported, latest report (or event) wins. */
  flags: Record<string, boolean>;
}

const scope = (id: string) => `water:${id}`;
const EVENT_FLAGS: Record<string, [string, boolean]> = {
  leak_detected: ['leak', true], leak_cleared: ['leak', false], burst: ['burst', true], backflow: ['backflow', true], tamper: ['tamper', true], low_battery: ['lowBattery', true],
};

const STEADY_BUCKET_MS = 12 * HOUR;

/** The steady flow a drip sets (L/h): the lowest interval flow of the last 12–24 h, at most `leakLph`. */
function steadyFlow(m: MeterState, leakLph: number): number {
  const lows = [m.steady?.current, m.steady?.previous].filter((x): x is number => typeof x === 'number');
  return Math.min(leakLph, ...lows);
}

function noteSteady(m: MeterState, ts: number, flowLph: number): void {
  let st = m.steady ?? { bucketStart: ts, current: null, previous: null };
  if (ts - st.bucketStart >= STEADY_BUCKET_MS) st = { bucketStart: ts, current: null, previous: ts - st.bucketStart < 2 * STEADY_BUCKET_MS ? st.current : null };
  st.current = st.current === null ? Math.max(0, flowLph) : Math.min(st.current, Math.max(0, flowLph));
  m.steady = st;
}

/** Burst threshold, L/h: a share of the meter's Q3 (attribute `q3Lph`, or the older `nominalFlowLph`). */
function burstLphOf(ctx: RuleContext, deviceId: string): number {
  const w = ctx.config.water;
  const attrs = ctx.attributes(deviceId);
  return ((numberAttr(attrs, 'q3Lph') ?? numberAttr(attrs, 'nominalFlowLph') ?? w.nominalFlowLph) * w.burstSharePct) / 100;
}

/** Live samples feed the per-meter history; the conditions are judged on the state after the message. */
export function onWaterSamples(ctx: RuleContext, deviceId: string, samples: readonly WaterMeterSample[]): void {
  const w = ctx.config.water;
  const burstLph = burstLphOf(ctx, deviceId);
  let m = ctx.state.get<MeterState>(scope(deviceId));
  for (const s of [...samples].sort((a, b) => a.ts - b.ts)) {
    if (!m) {
      m = { lastTs: s.ts, lastIndexL: s.indexL, dryRunStart: null, lastDryHourEnd: s.ts, lastUseTs: s.ts, highFlowSince: null, flowLph: s.flowLph ?? null, reverse: false, batteryPct: s.batteryPct ?? null, flags: {} };
    } else {
      if (s.ts <= m.lastTs) continue;
      const litres = s.indexL - m.lastIndexL;
      const hours = (s.ts - m.lastTs) / HOUR;
      if (litres === 0) {
        m.dryRunStart ??= m.lastTs;
        if (s.ts - m.dryRunStart >= w.leakDryMinutes * MIN) m.lastDryHourEnd = s.ts;
      } else {
        m.dryRunStart = null;
      }
      // Welfare: a drip or a running cistern is no sign of life. Use is water above the meter's steady flow
      // (counted up to the leak level: a steady flow above it is a burst, not a drip) by more than a tap's worth.
      const steady = steadyFlow(m, w.welfareLeakLph);
      if (litres - steady * hours > w.welfareMinUseL) m.lastUseTs = s.ts;
      noteSteady(m, s.ts, litres / hours);
      m.flowLph = s.flowLph ?? litres / hours;
      m.reverse = litres <= -w.backflowMinL || m.flowLph < 0;
      // Deadband: a burst in progress holds down to 80 % of the threshold.
      const high = m.flowLph >= (m.highFlowSince === null ? burstLph : 0.8 * burstLph);
      m.highFlowSince = high ? (m.highFlowSince ?? m.lastTs) : null;
      m.lastTs = s.ts;
      m.lastIndexL = s.indexL;
      if (s.batteryPct !== undefined) m.batteryPct = s.batteryPct;
    }
    if (s.alarms) for (const flag of WATER_METER_ALARMS) m.flags[flag] = s.alarms.includes(flag);
  }
  if (!m) return;
  ctx.state.set(scope(deviceId), m);
  evaluateMeter(ctx, deviceId, m, burstLph);
}

/**
 * A battery level from outside the readings (a LoRaWAN meter's DevStatusAns through ChirpStack): many
 * meters' codecs carry none, and a meter going flat must not go unnoticed. Judged once the meter has a
 * history (its first sample starts it); the next sample that carries a battery replaces it.
 */
export function onWaterBattery(ctx: RuleContext, deviceId: string, batteryPct: number): void {
  const m = ctx.state.get<MeterState>(scope(deviceId));
  if (!m) return;
  m.batteryPct = batteryPct;
  ctx.state.set(scope(deviceId), m);
  evaluateMeter(ctx, deviceId, m, burstLphOf(ctx, deviceId));
}

export function onWaterEvent(ctx: RuleContext, deviceId: string, type: string): void {
  const effect = EVENT_FLAGS[type];
  const m = ctx.state.get<MeterState>(scope(deviceId));
  if (!effect || !m) return;
  m.flags = { ...m.flags, [effect[0]]: effect[1] };
  ctx.state.set(scope(deviceId), m);
  evaluateMeter(ctx, deviceId, m, burstLphOf(ctx, deviceId));
}

function evaluateMeter(ctx: RuleContext, deviceId: string, m: MeterState, burstLph: number): void {
  const { rules, water: w } = ctx.config;
  const cond = (rule: string, active: boolean, severity: Severity, message: string, extra: Partial<Condition> = {}): void =>
    ctx.report({ deviceId, rule, object: null, active, severity, message, deviceType: 'water-meter', ...extra });
  const attrs = ctx.attributes(deviceId);
  // A DMA's inlet (bulk) meter always flows: the household leak rule means nothing there, and its burst
  // level is its own Q3 (attribute q3Lph) or none. Its leaks are the DMA's night flow.
  const inlet = attrs['site'] === DMA_INLET_SITE;
  // One leak alert per meter, whether the meter's own flag, this rule, or both see it.
  const sinceDryH = (m.lastTs - m.lastDryHourEnd) / HOUR;
  const ruleSees = !inlet && sinceDryH > w.leakWindowHours;
  const meterSees = m.flags.leak === true;
  const seenBy = ruleSees && meterSees ? 'both' : ruleSees ? 'rule' : meterSees ? 'meter' : null;
  const why = [...(ruleSees ? [`no flow-free ${w.leakDryMinutes} min in the last ${round1(sinceDryH)} h`] : []), ...(meterSees ? ["the meter's own leak alarm"] : [])];
  cond('water-leak', seenBy !== null, rules['water-leak'].severity, `continuous flow: ${why.join(', and ') || `a flow-free ${w.leakDryMinutes} min within the last ${w.leakWindowHours} h`}`, { value: round1(sinceDryH), detail: { seenBy } });
  const burstMin = m.highFlowSince === null ? 0 : (m.lastTs - m.highFlowSince) / MIN;
  if (!inlet || numberAttr(attrs, 'q3Lph') !== undefined) cond('water-burst', burstMin >= w.burstMinutes, rules['water-burst'].severity, `flow ${Math.round(m.flowLph ?? 0)} L/h above ${Math.round(burstLph)} L/h for ${Math.round(burstMin)} min`, { value: m.flowLph });
  cond('water-backflow', m.reverse, rules['water-backflow'].severity, 'reverse flow: the register ran backwards', { value: m.flowLph });
  if (m.batteryPct !== null) {
    const tier = [{ severity: rules['water-low-battery'].severity, threshold: w.lowBatteryPct }];
    const sev = tierBelow(m.batteryPct, tier, ctx.severityOf(deviceId, 'water-low-battery'), w.lowBatteryPct > 0 ? w.lowBatteryDeadbandPct / w.lowBatteryPct : 0);
    cond('water-low-battery', sev !== null, sev ?? 'warning', `meter battery ${m.batteryPct} %`, { value: m.batteryPct });
  }
  for (const flag of WATER_METER_ALARMS) {
    if (m.flags[flag] === undefined || flag === 'leak') continue;
    ctx.report({ deviceId, rule: 'meter-alarm', object: flag, active: m.flags[flag], severity: w.flagSeverity[flag], message: `meter reports ${flag}`, deviceType: 'water-meter' });
  }
  // Welfare watch (見守り) only for households enrolled at provisioning; anything else is surveillance.
  if (boolAttr(attrs, 'welfareWatch')) {
    const hours = numberAttr(attrs, 'welfareHours') ?? w.welfareNoUseHours;
    const idleH = (m.lastTs - m.lastUseTs) / HOUR;
    cond('welfare-watch', idleH >= hours, rules['welfare-watch'].severity, `no water used for ${round1(idleH)} h (watch after ${hours} h)`, { value: round1(idleH) });
  }
}

/**
 * Clock-driven: a welfare-enrolled meter that falls silent is itself a welfare concern (domain notes). Its
 * own rule, so only roles with welfare access see it; field engineers get the device-silent alert. `wake`
 * hears when an enrolled meter's verdict next changes with the clock alone (its concern hours, the next
 * tenth of an hour it says); enrolling a meter is a registry change the engine hears of.
 */
export function evaluateWelfareSilence(ctx: RuleContext, seen: readonly LastSeen[], wake: WakeAt = () => {}): void {
  const w = ctx.config.water;
  for (const d of seen) {
    if (d.type !== 'water-meter' || d.lastSeen === null) continue;
    const attrs = ctx.attributes(d.deviceId);
    if (!boolAttr(attrs, 'welfareWatch')) continue;
    const hours = numberAttr(attrs, 'welfareSilentHours') ?? w.welfareSilentHours;
    const silentH = (ctx.now - d.lastSeen) / HOUR;
    const active = silentH >= hours;
    // Active, its figure (to a tenth of an hour) moves on when the silence reaches the next half tenth.
    wake(d.deviceId, active ? d.lastSeen + (Math.round(silentH * 10) + 0.5) * (HOUR / 10) : Math.floor(d.lastSeen + hours * HOUR));
    if (!active && ctx.severityOf(d.deviceId, 'welfare-silent') === null) continue;
    ctx.report({
      deviceId: d.deviceId, rule: 'welfare-silent', object: null, active, severity: ctx.config.rules['welfare-silent'].severity, deviceType: 'water-meter',
      value: round1(silentH), message: `the meter has been silent for ${round1(silentH)} h: no news of the household (concern after ${hours} h)`, detail: { welfareWatch: true },
    });
  }
}
