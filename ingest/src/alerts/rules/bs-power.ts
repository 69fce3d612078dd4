import type { AttributeValue, BsPowerSample } from '@tsunagaru/firmware-contracts';
import type { AlertRulesConfig } from '../rules-config.js';
import { tierBelow, type Tier } from '../thresholds.js';
import { minutesLeftAt, timeToDark, type PlantReading, type TimeToDark } from '../time-to-dark.js';
import type { Condition, Severity } from '../types.js';
import { numberAttr, round1, stringAttr, type RuleContext } from './context.js';
import type { LastSeen } from './device-status.js';
import { onSiteMains } from './district.js';

/** The latest known value of every reading of one plant (samples may carry only some readings). */
export type PlantState = PlantReading & {
  /** Device time of the latest reading or event folded in (epoch ms). */
  ts: number;
  backhaul?: 'fiber' | 'satellite' | 'down';
  batteryV?: number;
  /** Device time at which mains was lost (the event's time, or the first sample saying off). */
  mainsLostAt?: number;
  /** Device time of the controller's battery_low, latched until mains returns. */
  batteryLowAt?: number;
};

export interface SiteResilience {
  chemistry: string;
  targetHours: number;
  /** The estimate as of the reading (plant.ts). */
  timeToDark: TimeToDark;
  /** String voltage at or below which the site is critical on battery. */
  backstopV: number;
}

/** Whether a silent site is still being heard from, for the countdown (receive time, not device time). */
export interface Hearing {
  /** No message for longer than the silence rule allows. */
  silent: boolean;
}

const scope = (id: string) => `bs:${id}`;

export function plantOf(ctx: Pick<RuleContext, 'state'>, deviceId: string): PlantState | undefined {
  return ctx.state.get<PlantState>(scope(deviceId));
}

/** Every site's plant state, for the clock-driven countdown. */
export function plants(ctx: Pick<RuleContext, 'state'>): Array<[deviceId: string, plant: PlantState]> {
  // A forgotten plant (future-state.ts) is null until the site reports again.
  return ctx.state.entries<PlantState | null>('bs:').filter((e): e is [string, PlantState] => e[1] !== null).map(([k, p]) => [k.slice(3), p]);
}

/** The backup target: the site's own, else 72 h for remote islands, else the default (domain notes). */
export function targetHoursOf(config: Readonly<AlertRulesConfig>, attrs: Record<string, AttributeValue>): number {
  const b = config.bsPower;
  return numberAttr(attrs, 'targetHours') ?? (stringAttr(attrs, 'priority') === 'remote-island' ? b.remoteIslandTargetHours : b.targetHours);
}

/** Time to dark of one site with its configured chemistry (attribute `battery`) and targets. */
export function siteResilience(config: Readonly<AlertRulesConfig>, attrs: Record<string, AttributeValue>, plant: PlantState): SiteResilience {
  const b = config.bsPower;
  const wanted = stringAttr(attrs, 'battery');
  const chemistry = wanted && wanted in b.chemistries ? wanted : b.defaultChemistry;
  const chem = b.chemistries[chemistry]!;
  const params = {
    chemistry: chem, ratedHours: b.ratedHours, temperatureDerating: b.temperatureDerating, reservePct: b.reservePct, preferController: b.preferController,
    generatorTankHours: numberAttr(attrs, 'generatorTankHours') ?? b.generatorTankHours,
  };
  const cells = numberAttr(attrs, 'batteryCells') ?? chem.cells;
  return { chemistry, targetHours: targetHoursOf(config, attrs), timeToDark: timeToDark(plant, params), backstopV: Math.round(cells * chem.backstopVoltsPerCell * 100) / 100 };
}

/** Weight of a new sample in its hour's typical load (about the last ten samples of that hour count). */
const LOAD_LEARNING = 0.1;

/** Learns the site's load by hour of day (UTC) from what it reports. */
function learnLoad(profile: ReadonlyArray<number | null> | undefined, ts: number, loadA: number | undefined): ReadonlyArray<number | null> | undefined {
  if (loadA === undefined || loadA <= 0) return profile;
  const next = profile ? [...profile] : Array<number | null>(24).fill(null);
  const hour = new Date(ts).getUTCHours();
  const known = next[hour];
  next[hour] = known == null ? loadA : known + (loadA - known) * LOAD_LEARNING;
  return next;
}

export function onBsPowerSamples(ctx: RuleContext, deviceId: string, samples: readonly BsPowerSample[]): void {
  let plant = plantOf(ctx, deviceId) ?? { ts: 0 };
  for (const s of [...samples].sort((a, b) => a.ts - b.ts)) {
    if (s.ts < plant.ts) continue;
    const { ts, ...readings } = s;
    const loadByHour = learnLoad(plant.loadByHour, ts, readings.loadA);
    plant = withMains({ ...plant, ...readings, ts, ...(loadByHour ? { loadByHour } : {}) }, plant, ts);
  }
  save(ctx, deviceId, plant);
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
  const plant = plantOf(ctx, deviceId) ?? { ts: 0 };
  if (ts < plant.ts) return;
  if (type === 'battery_low') return save(ctx, deviceId, { ...plant, ts, batteryLowAt: ts });
  const effect = EVENT_EFFECT[type];
  if (!effect) return;
  save(ctx, deviceId, withMains({ ...plant, ...effect, ts }, plant, ts));
}

/** Keeps when mains was lost, and forgets battery_low once mains is back. */
function withMains(next: PlantState, prev: PlantState, ts: number): PlantState {
  if (next.mains === 'off' && prev.mains !== 'off') return { ...next, mainsLostAt: ts };
  if (next.mains !== 'off' && (next.mainsLostAt !== undefined || next.batteryLowAt !== undefined)) {
    const { mainsLostAt: _lost, batteryLowAt: _low, ...rest } = next;
    return rest;
  }
  return next;
}

function save(ctx: RuleContext, deviceId: string, plant: PlantState): void {
  const before = plantOf(ctx, deviceId);
  ctx.state.set(scope(deviceId), plant);
  if ((before?.mains === 'off') !== (plant.mains === 'off')) onSiteMains(ctx, deviceId, plant.mains === 'off' ? (plant.mainsLostAt ?? plant.ts) : null);
  evaluateSite(ctx, deviceId, plant, { silent: false });
}

const fmtMinutes = (m: number) => (m >= 120 ? `${round1(m / 60)} h` : `${Math.round(m)} min`);

/**
 * Every rule of one site, from its plant state at `ctx.now`. Called on each message, and by the engine's
 * clock for sites on battery: an estimate belongs to the time of its reading and is counted down between
 * readings, so a site whose backhaul is cut still escalates, and is presumed dark once silent for longer
 * than its estimate.
 */
export function evaluateSite(ctx: RuleContext, deviceId: string, plant: PlantState, hearing: Hearing): void {
  const rules = ctx.config.rules;
  const b = ctx.config.bsPower;
  const observedAt = plant.ts;
  const cond = (rule: string, active: boolean, severity: Severity, message: string, extra: Partial<Condition> = {}): void =>
    ctx.report({ deviceId, rule, object: null, active, severity, message, deviceType: 'bs-power', observedAt, ...extra });
  const mainsOff = plant.mains === 'off';
  cond('mains-lost', mainsOff, rules['mains-lost'].severity, 'mains lost: the site runs on battery', mainsOff && plant.mainsLostAt !== undefined ? { observedAt: plant.mainsLostAt } : {});
  cond('generator-fault', plant.generator === 'fault', mainsOff ? 'critical' : rules['generator-fault'].severity, `generator fault${mainsOff ? ' while mains is lost' : ''}`);
  cond('backhaul-satellite', plant.backhaul === 'satellite', rules['backhaul-satellite'].severity, 'backhaul on satellite: fibre is down');
  cond('backhaul-down', plant.backhaul === 'down', rules['backhaul-down'].severity, 'backhaul down: the site is dark to the network');
  const soh = plant.batterySohPct;
  cond('battery-replace', soh !== undefined && soh < b.sohReplacePct, rules['battery-replace'].severity, `battery state of health ${soh ?? '?'} % (< ${b.sohReplacePct} %): replace`, { value: soh ?? null });

  const site = siteResilience(ctx.config, ctx.attributes(deviceId), plant);
  const t = site.timeToDark;
  const voltageLow = mainsOff && plant.batteryV !== undefined && plant.batteryV <= site.backstopV;
  const controllerLow = mainsOff && plant.batteryLowAt !== undefined;
  cond('battery-low', voltageLow || controllerLow, rules['battery-low'].severity,
    voltageLow ? `battery at ${plant.batteryV} V, at or below the ${site.backstopV} V backstop: the disconnect is close` : 'the controller reports battery low: the disconnect is close',
    { value: plant.batteryV ?? null, ...(controllerLow && !voltageLow ? { observedAt: plant.batteryLowAt } : {}) });

  const elapsedMin = mainsOff ? Math.max(0, ctx.now - plant.ts) / 60_000 : 0;
  const left = t.minutes === null ? null : minutesLeftAt(t.minutes, plant.ts, mainsOff, ctx.now);
  evaluateTimeToDark(ctx, deviceId, plant, site, { left, elapsedMin, silent: hearing.silent, mainsOff }, cond);
  evaluateDisagreement(ctx, site, cond);
  const presumedDark = mainsOff && hearing.silent && t.minutes !== null && elapsedMin >= t.minutes && plant.backhaul !== 'down';
  cond('site-presumed-dark', presumedDark, rules['site-presumed-dark'].severity,
    presumedDark ? `presumed dark: silent on battery for ${fmtMinutes(elapsedMin)}, longer than the ${fmtMinutes(t.minutes ?? 0)} it had left at its last report` : '',
    { value: Math.round(elapsedMin) });
}

interface Countdown {
  left: number | null;
  elapsedMin: number;
  silent: boolean;
  mainsOff: boolean;
}

/**
 * The time-to-dark alert. On mains the estimate is what would happen if mains failed now: below target is
 * a readiness warning. On battery the major and critical tiers are judged on the shorter of the two
 * estimates (an optimistic controller cannot hold back a critical alert), less a margin (wider while
 * silent), counted down to now.
 */
function evaluateTimeToDark(ctx: RuleContext, deviceId: string, plant: PlantState, site: SiteResilience, c: Countdown, cond: (rule: string, active: boolean, severity: Severity, message: string, extra?: Partial<Condition>) => void): void {
  const b = ctx.config.bsPower;
  const t = site.timeToDark;
  const previous = ctx.severityOf(deviceId, 'time-to-dark');
  if (c.left === null || t.minutes === null) {
    cond('time-to-dark', false, 'warning', 'time to dark unknown');
    return;
  }
  const target = tierBelow(c.left, [{ severity: 'warning', threshold: site.targetHours * 60 }], previous, b.deadbandPct / 100);
  let severity: Severity | null = target;
  if (c.mainsOff) {
    const shortest = Math.min(...[t.computedBatteryMinutes, t.controllerBatteryMinutes].filter((m): m is number => m !== null)) + t.generatorMinutes;
    const margin = (c.silent ? b.silentMarginPct : b.escalationMarginPct) / 100;
    const judged = Math.max(0, shortest * (1 - margin) - c.elapsedMin);
    const tiers: Tier[] = [{ severity: 'major', threshold: b.majorHours * 60 }, { severity: 'critical', threshold: b.criticalHours * 60 }];
    const countdown = tierBelow(judged, tiers, previous, b.deadbandPct / 100);
    if (countdown) severity = countdown;
  }
  const both = t.computedBatteryMinutes !== null && t.controllerBatteryMinutes !== null;
  const message =
    `time to dark ${fmtMinutes(c.left)}${c.mainsOff ? '' : ' if mains failed now'}` +
    `${c.silent ? `, counted down from its last report ${fmtMinutes(c.elapsedMin)} ago` : ''} (${site.chemistry}, load ${round1(t.loadA ?? 0)} A, SoC ${plant.batterySocPct ?? '?'} %` +
    `${both ? `; controller ${fmtMinutes(t.controllerBatteryMinutes!)}, computed ${fmtMinutes(t.computedBatteryMinutes!)}` : ''}` +
    `${t.generatorMinutes > 0 ? `, generator ${fmtMinutes(t.generatorMinutes)}` : ''}); target ${site.targetHours} h`;
  cond('time-to-dark', severity !== null, severity ?? 'warning', message, {
    value: Math.round(c.left),
    detail: {
      minutesLeft: Math.round(c.left), estimateMinutes: Math.round(t.minutes), estimateAt: plant.ts, source: t.source,
      batteryMinutes: t.batteryMinutes, computedBatteryMinutes: t.computedBatteryMinutes, controllerBatteryMinutes: t.controllerBatteryMinutes,
      generatorMinutes: t.generatorMinutes, loadA: t.loadA, temperatureFactor: t.temperatureFactor, chemistry: site.chemistry, targetHours: site.targetHours,
      mains: plant.mains ?? null, silent: c.silent,
    },
  });
}

/** The controller and we disagree by more than the configured share (the lifecycle's on-delay makes it sustained). */
function evaluateDisagreement(ctx: RuleContext, site: SiteResilience, cond: (rule: string, active: boolean, severity: Severity, message: string, extra?: Partial<Condition>) => void): void {
  const { computedBatteryMinutes: ours, controllerBatteryMinutes: theirs } = site.timeToDark;
  const share = ctx.config.bsPower.disagreementPct / 100;
  // Near the end both go to 0 and a few minutes are a large share: judge only above half an hour.
  const judged = ours !== null && theirs !== null && Math.max(ours, theirs) >= 30;
  const apart = judged ? Math.abs(theirs - ours) / Math.max(1, Math.min(ours, theirs)) : 0;
  cond('time-to-dark-disagreement', judged && apart > share, ctx.config.rules['time-to-dark-disagreement'].severity,
    judged ? `the controller says ${fmtMinutes(theirs)} of battery, our estimate ${fmtMinutes(ours)} (${Math.round(apart * 100)} % apart): check the battery type, capacity and state of health the controller and the provisioning use` : '',
    { value: judged ? Math.round(apart * 100) : null });
}

/**
 * Clock-driven: every site on battery (or presumed dark) is judged again at `ctx.now`, so estimates count
 * down between readings. A site is silent when the silence rule would call it so, or when it is offline;
 * `heard` is its last message (undefined: never had a status, not counted silent).
 */
export function evaluateCountdowns(ctx: RuleContext, heard: (deviceId: string) => LastSeen | undefined): void {
  const { k, minSilenceSec } = ctx.config.silence;
  const silent = (deviceId: string): boolean => {
    const d = heard(deviceId);
    if (d?.type !== 'bs-power') return false;
    const limitMs = Math.max(k * (d.sampleSec ?? 0), minSilenceSec) * 1000;
    return !d.online || d.lastSeen === null || ctx.now - d.lastSeen > limitMs;
  };
  for (const [deviceId, plant] of plants(ctx)) {
    if (plant.mains === 'off' || ctx.severityOf(deviceId, 'site-presumed-dark') !== null) evaluateSite(ctx, deviceId, plant, { silent: silent(deviceId) });
  }
}
