import type { SmartPoleSample } from '@tsunagaru/firmware-contracts';
import { tierAbove, type Tier } from '../thresholds.js';
import type { Condition, Severity } from '../types.js';
import { round1, type RuleContext } from './context.js';

type PoleState = Omit<SmartPoleSample, 'ts'> & { ts: number };
const scope = (id: string) => `pole:${id}`;

/**
 * Wet-bulb globe temperature (domain notes, Nishi-Shinjuku signage): T °C, RH %, SR kW/m², WS m/s.
 * v1 poles report neither SR nor WS, so the rules file supplies assumed values (shade, still air).
 */
export function wbgt(tC: number, rhPct: number, srKwM2 = 0, wsMs = 0): number {
  return 0.735 * tC + 0.0374 * rhPct + 0.00292 * tC * rhPct + 7.619 * srKwM2 - 4.557 * srKwM2 ** 2 - 0.0572 * wsMs - 4.064;
}

export function onPoleSamples(ctx: RuleContext, deviceId: string, samples: readonly SmartPoleSample[]): void {
  let pole: PoleState = ctx.state.get<PoleState>(scope(deviceId)) ?? { ts: 0 };
  for (const s of [...samples].sort((a, b) => a.ts - b.ts)) if (s.ts >= pole.ts) pole = { ...pole, ...s };
  ctx.state.set(scope(deviceId), pole);
  evaluate(ctx, deviceId, pole);
}

const EVENT_EFFECT: Record<string, Partial<PoleState>> = {
  door_open: { doorOpen: true },
  door_closed: { doorOpen: false },
  fiveg_down: { fiveG: 'down' },
  fiveg_up: { fiveG: 'up' },
};

export function onPoleEvent(ctx: RuleContext, deviceId: string, type: string, ts: number): void {
  const effect = EVENT_EFFECT[type];
  const pole = ctx.state.get<PoleState>(scope(deviceId)) ?? { ts: 0 };
  if (!effect || ts < pole.ts) return;
  const next = { ...pole, ...effect, ts };
  ctx.state.set(scope(deviceId), next);
  evaluate(ctx, deviceId, next);
}

function evaluate(ctx: RuleContext, deviceId: string, pole: PoleState): void {
  const { rules, pole: cfg } = ctx.config;
  const cond = (rule: string, active: boolean, severity: Severity, message: string, extra: Partial<Condition> = {}): void =>
    ctx.report({ deviceId, rule, object: null, active, severity, message, deviceType: 'smart-pole', ...extra });
  cond('pole-5g-down', pole.fiveG === 'down', rules['pole-5g-down'].severity, '5G radio down');
  cond('pole-door-open', pole.doorOpen === true, rules['pole-door-open'].severity, 'cabinet door open');

  if (pole.cabinetTempC !== undefined) {
    const tiers: Tier[] = [{ severity: rules['pole-cabinet-overtemp'].severity, threshold: cfg.cabinetWarnC }, { severity: 'major', threshold: cfg.cabinetMajorC }];
    const sev = tierAbove(pole.cabinetTempC, tiers, ctx.severityOf(deviceId, 'pole-cabinet-overtemp'), cfg.cabinetDeadbandC);
    cond('pole-cabinet-overtemp', sev !== null, sev ?? 'warning', `cabinet ${round1(pole.cabinetTempC)} °C (warn ≥ ${cfg.cabinetWarnC}, major ≥ ${cfg.cabinetMajorC})`, { value: pole.cabinetTempC });
  }
  if (pole.airTempC !== undefined && pole.humidityPct !== undefined) {
    const w = wbgt(pole.airTempC, pole.humidityPct, cfg.assumedSolarKwM2, cfg.assumedWindMs);
    const tiers: Tier[] = [{ severity: rules['pole-wbgt-danger'].severity, threshold: cfg.wbgtDangerC }];
    if (cfg.warnAtSevereCaution) tiers.push({ severity: 'warning', threshold: cfg.wbgtSevereCautionC });
    const sev = tierAbove(w, tiers, ctx.severityOf(deviceId, 'pole-wbgt-danger'), cfg.wbgtDeadbandC);
    const level = w >= cfg.wbgtDangerC ? 'danger' : w >= cfg.wbgtSevereCautionC ? 'severe caution' : 'caution';
    cond('pole-wbgt-danger', sev !== null, sev ?? 'warning', `WBGT ${round1(w)} °C: heat-stroke ${level} (air ${pole.airTempC} °C, RH ${pole.humidityPct} %)`, { value: round1(w) });
  }
}
