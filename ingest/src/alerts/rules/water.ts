import { WATER_METER_ALARMS, type WaterMeterSample } from '@tsunagaru/firmware-contracts';
import { tierBelow } from '../thresholds.js';
import type { Condition, Severity } from '../types.js';
import { addNightUse, judgeNights, type DmaNights } from './dma-night.js';
import { boolAttr, numberAttr, round1, stringAttr, type RuleContext } from './context.js';

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
  /** End of the last interval with consumption (first sample counts as use). */
  lastUseTs: number;
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

/** Live samples feed the per-meter history; the conditions are judged on the state after the message. */
export function onWaterSamples(ctx: RuleContext, deviceId: string, samples: readonly WaterMeterSample[]): void {
  const w = ctx.config.water;
  const attrs = ctx.attributes(deviceId);
  const burstLph = ((numberAttr(attrs, 'nominalFlowLph') ?? w.nominalFlowLph) * w.burstSharePct) / 100;
  const dma = stringAttr(attrs, 'dma');
  const nights = dma ? (ctx.state.get<DmaNights>(`dma:${dma}`) ?? { open: {}, history: [] }) : undefined;
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
        if (litres > 0) m.lastUseTs = s.ts;
      }
      if (nights && litres > 0) addNightUse(nights, m.lastTs, s.ts, litres, w.night);
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
  if (dma && nights) ctx.state.set(`dma:${dma}`, nights);
  evaluateMeter(ctx, deviceId, m, burstLph);
}

export function onWaterEvent(ctx: RuleContext, deviceId: string, type: string): void {
  const effect = EVENT_FLAGS[type];
  const m = ctx.state.get<MeterState>(scope(deviceId));
  if (!effect || !m) return;
  m.flags = { ...m.flags, [effect[0]]: effect[1] };
  ctx.state.set(scope(deviceId), m);
  const w = ctx.config.water;
  evaluateMeter(ctx, deviceId, m, ((numberAttr(ctx.attributes(deviceId), 'nominalFlowLph') ?? w.nominalFlowLph) * w.burstSharePct) / 100);
}

function evaluateMeter(ctx: RuleContext, deviceId: string, m: MeterState, burstLph: number): void {
  const { rules, water: w } = ctx.config;
  const cond = (rule: string, active: boolean, severity: Severity, message: string, extra: Partial<Condition> = {}): void =>
    ctx.report({ deviceId, rule, object: null, active, severity, message, deviceType: 'water-meter', ...extra });
  const sinceDryH = (m.lastTs - m.lastDryHourEnd) / HOUR;
  cond('water-leak', sinceDryH > w.leakWindowHours, rules['water-leak'].severity, `continuous flow: no flow-free ${w.leakDryMinutes} min in the last ${round1(sinceDryH)} h`, { value: round1(sinceDryH) });
  const burstMin = m.highFlowSince === null ? 0 : (m.lastTs - m.highFlowSince) / MIN;
  cond('water-burst', burstMin >= w.burstMinutes, rules['water-burst'].severity, `flow ${Math.round(m.flowLph ?? 0)} L/h above ${Math.round(burstLph)} L/h for ${Math.round(burstMin)} min`, { value: m.flowLph });
  cond('water-backflow', m.reverse, rules['water-backflow'].severity, 'reverse flow: the register ran backwards', { value: m.flowLph });
  if (m.batteryPct !== null) {
    const tier = [{ severity: rules['water-low-battery'].severity, threshold: w.lowBatteryPct }];
    const sev = tierBelow(m.batteryPct, tier, ctx.severityOf(deviceId, 'water-low-battery'), w.lowBatteryPct > 0 ? w.lowBatteryDeadbandPct / w.lowBatteryPct : 0);
    cond('water-low-battery', sev !== null, sev ?? 'warning', `meter battery ${m.batteryPct} %`, { value: m.batteryPct });
  }
  for (const flag of WATER_METER_ALARMS) {
    if (m.flags[flag] === undefined) continue;
    ctx.report({ deviceId, rule: 'meter-alarm', object: flag, active: m.flags[flag], severity: w.flagSeverity[flag], message: `meter reports ${flag}`, deviceType: 'water-meter' });
  }
  const attrs = ctx.attributes(deviceId);
  // Welfare watch (見守り) only for households enrolled at provisioning; anything else is surveillance.
  if (boolAttr(attrs, 'welfareWatch')) {
    const hours = numberAttr(attrs, 'welfareHours') ?? w.welfareNoUseHours;
    const idleH = (m.lastTs - m.lastUseTs) / HOUR;
    cond('welfare-watch', idleH >= hours, rules['welfare-watch'].severity, `no water used for ${round1(idleH)} h (watch after ${hours} h)`, { value: round1(idleH) });
  }
}

/** Clock-driven: judges the DMA nights whose window has ended. */
export function evaluateDmaNights(ctx: RuleContext): void {
  const night = ctx.config.water.night;
  for (const [key, n] of ctx.state.entries<DmaNights>('dma:')) {
    const dma = key.slice(4);
    const source = `dma:${dma}`;
    if (Object.keys(n.open).length === 0) continue;
    const next: DmaNights = { open: { ...n.open }, history: [...n.history] };
    const verdicts = judgeNights(next, ctx.now, night, night.baselinesLph[dma], ctx.severityOf(source, 'dma-night-flow') !== null);
    if (verdicts.length === 0) continue;
    ctx.state.set(key, next);
    const v = verdicts[verdicts.length - 1]!;
    ctx.report({
      deviceId: source, rule: 'dma-night-flow', object: null, active: v.high, severity: ctx.config.rules['dma-night-flow'].severity, deviceType: null, value: round1(v.nightFlowLph),
      message: `DMA ${dma} minimum night flow ${Math.round(v.nightFlowLph)} L/h on ${v.date} vs baseline ${v.baselineLph === null ? 'not learned yet' : `${Math.round(v.baselineLph)} L/h`}`,
      detail: { date: v.date, baselineLph: v.baselineLph },
    });
  }
}
