import type { AttributeValue } from '@tsunagaru/broker';
import type { BsPowerSample } from '@tsunagaru/firmware-contracts';
import type { AlertRulesConfig } from '../rules-config.js';
import { tierBelow, type Tier } from '../thresholds.js';
import { timeToDark, type PlantReading, type TimeToDark } from '../time-to-dark.js';
import type { Condition, Severity } from '../types.js';
import { numberAttr, round1, stringAttr, type RuleContext } from './context.js';

/** The latest known value of every reading of one plant (samples may carry only some readings). */
export type PlantState = PlantReading & { ts: number; backhaul?: 'fiber' | 'satellite' | 'down'; runtimeMin?: number };

export interface SiteResilience {
  chemistry: string;
  targetHours: number;
  timeToDark: TimeToDark;
}

const scope = (id: string) => `bs:${id}`;

export function plantOf(ctx: Pick<RuleContext, 'state'>, deviceId: string): PlantState | undefined {
  return ctx.state.get<PlantState>(scope(deviceId));
}

/** Time to dark of one site with its configured chemistry (attribute `battery`) and targets. */
export function siteResilience(config: Readonly<AlertRulesConfig>, attrs: Record<string, AttributeValue>, plant: PlantState): SiteResilience {
  const b = config.bsPower;
  const wanted = stringAttr(attrs, 'battery');
  const chemistry = wanted && wanted in b.chemistries ? wanted : b.defaultChemistry;
  const params = { chemistry: b.chemistries[chemistry]!, ratedHours: b.ratedHours, temperatureDerating: b.temperatureDerating, generatorTankHours: numberAttr(attrs, 'generatorTankHours') ?? b.generatorTankHours };
  return { chemistry, targetHours: numberAttr(attrs, 'targetHours') ?? b.targetHours, timeToDark: timeToDark(plant, params) };
}

export function onBsPowerSamples(ctx: RuleContext, deviceId: string, samples: readonly BsPowerSample[]): void {
  let plant = plantOf(ctx, deviceId) ?? { ts: 0 };
  for (const s of [...samples].sort((a, b) => a.ts - b.ts)) {
    if (s.ts < plant.ts) continue;
    const { ts, ...readings } = s;
    plant = { ...plant, ...readings, ts };
  }
  ctx.state.set(scope(deviceId), plant);
  evaluate(ctx, deviceId, plant);
}

/** Events carry state changes between samples (mains lost at 03:12:07, not at the next minute's sample). */
const EVENT_EFFECT: Record<string, Partial<PlantState>> = {
  mains_lost: { mains: 'off' },
  mains_restored: { mains: 'on' },
  generator_start: { generator: 'starting' },
  generator_stop: { generator: 'off' },
  generator_fault: { generator: 'fault' },
  backhaul_satellite: { backhaul: 'satellite' },
  backhaul_fiber: { backhaul: 'fiber' },
  backhaul_down: { backhaul: 'down' },
};

export function onBsPowerEvent(ctx: RuleContext, deviceId: string, type: string, ts: number): void {
  const effect = EVENT_EFFECT[type];
  const plant = plantOf(ctx, deviceId) ?? { ts: 0 };
  if (!effect || ts < plant.ts) return;
  const next = { ...plant, ...effect, ts };
  ctx.state.set(scope(deviceId), next);
  evaluate(ctx, deviceId, next);
}

const fmtMinutes = (m: number) => (m >= 120 ? `${round1(m / 60)} h` : `${Math.round(m)} min`);

function evaluate(ctx: RuleContext, deviceId: string, plant: PlantState): void {
  const rules = ctx.config.rules;
  const cond = (rule: string, active: boolean, severity: Severity, message: string, extra: Partial<Condition> = {}): void =>
    ctx.report({ deviceId, rule, object: null, active, severity, message, deviceType: 'bs-power', ...extra });
  const mainsOff = plant.mains === 'off';
  cond('mains-lost', mainsOff, rules['mains-lost'].severity, 'mains lost: the site runs on battery');
  cond('generator-fault', plant.generator === 'fault', mainsOff ? 'critical' : rules['generator-fault'].severity, `generator fault${mainsOff ? ' while mains is lost' : ''}`);
  cond('backhaul-satellite', plant.backhaul === 'satellite', rules['backhaul-satellite'].severity, 'backhaul on satellite: fibre is down');
  cond('backhaul-down', plant.backhaul === 'down', rules['backhaul-down'].severity, 'backhaul down: the site is dark to the network');
  const soh = plant.batterySohPct;
  cond('battery-replace', soh !== undefined && soh < ctx.config.bsPower.sohReplacePct, rules['battery-replace'].severity, `battery state of health ${soh ?? '?'} % (< ${ctx.config.bsPower.sohReplacePct} %): replace`, { value: soh ?? null });

  const site = siteResilience(ctx.config, ctx.attributes(deviceId), plant);
  const minutes = site.timeToDark.minutes;
  const b = ctx.config.bsPower;
  // On mains the estimate is what would happen if mains failed now: below target is a readiness warning;
  // the major and critical tiers are for a site actually counting down.
  const tiers: Tier[] = [{ severity: 'warning', threshold: site.targetHours * 60 }];
  if (mainsOff) tiers.push({ severity: 'major', threshold: b.majorHours * 60 }, { severity: 'critical', threshold: b.criticalHours * 60 });
  const severity = minutes === null ? null : tierBelow(minutes, tiers, ctx.severityOf(deviceId, 'time-to-dark'), b.deadbandPct / 100);
  const t = site.timeToDark;
  const message =
    minutes === null
      ? 'time to dark unknown'
      : `time to dark ${fmtMinutes(minutes)}${mainsOff ? '' : ' if mains failed now'} (${site.chemistry}, load ${round1(t.loadA ?? 0)} A, SoC ${plant.batterySocPct ?? '?'} %` +
        `${t.generatorMinutes > 0 ? `, generator ${fmtMinutes(t.generatorMinutes)}` : ''}); target ${site.targetHours} h`;
  cond('time-to-dark', severity !== null, severity ?? 'warning', message, {
    value: minutes === null ? null : Math.round(minutes),
    detail: { batteryMinutes: t.batteryMinutes, generatorMinutes: t.generatorMinutes, loadA: t.loadA, temperatureFactor: t.temperatureFactor, chemistry: site.chemistry, targetHours: site.targetHours, mains: plant.mains ?? null },
  });
}
