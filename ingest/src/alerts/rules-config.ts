/**
 * The alert rules file (ALERT_RULES_FILE, JSON or YAML; ingest/README.md "Alerts"), as a zod schema: every
 * field has its default and its bounds here, an absent section takes all its defaults, an unknown field
 * is refused (usually a typo), and a problem names the field by its path (`water.burstSharePct: must be
 * ≤ 100, got 500`). The same schema is exported as JSON Schema for editors (schema/alert-rules.schema.json).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configJsonSchema, DEFAULT_RING_TOPOLOGY, DEVICE_TYPES, parseConfig, SEGMENT_ID_PATTERN, WATER_METER_ALARMS } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../errors.js';
import { ALERT_EVENT_KINDS, ALERT_GROUPS, SEVERITIES, type AlertGroup, type Severity } from './types.js';

const DAY_SEC = 86_400;

/** A number with its default and bounds. */
function num(def: number, o: { min?: number; max?: number; int?: boolean } = {}) {
  let n = z.number();
  if (o.int) n = n.int();
  if (o.min !== undefined) n = n.min(o.min);
  if (o.max !== undefined) n = n.max(o.max);
  return n.default(def);
}
/** Text that is not empty; with `pattern`, `hint` says what it must be. */
const text = (pattern?: RegExp, hint?: string) => (pattern ? z.string().min(1).regex(pattern, { error: `must be ${hint ?? `like ${pattern.source}`}` }) : z.string().min(1));
/** A section: fixed fields, each defaulted on its own; unknown ones refused (they are usually typos); absent: all defaults. */
const section = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).prefault({} as never);

/** Settings every rule has. `severity` is the rule's severity; tiered rules (time to dark, cabinet) name theirs. */
function rule(severity: Severity, group: AlertGroup, o: { onDelaySec?: number; offDelaySec?: number; enabled?: boolean } = {}) {
  return section({
    enabled: z.boolean().default(o.enabled ?? true),
    severity: z.enum(SEVERITIES).default(severity),
    group: z.enum(ALERT_GROUPS).default(group),
    /** ISA-18.2 on-delay: the condition must hold this long before the alert is raised (short spikes are ignored). */
    onDelaySec: num(o.onDelaySec ?? 0, { min: 0, max: DAY_SEC }),
    /** ISA-18.2 off-delay: the condition must be gone this long before the alert clears. */
    offDelaySec: num(o.offDelaySec ?? 0, { min: 0, max: DAY_SEC }),
  });
}

/** Every rule id, with its defaults. The id is the alert's `rule` (the X.733 alarm type; API `type`). */
const rulesShape = {
  'device-offline': rule('major', 'field', { onDelaySec: 60 }),
  'device-silent': rule('minor', 'field'),
  'mains-lost': rule('major', 'disaster'),
  'time-to-dark': rule('warning', 'disaster'),
  /** The controller's estimate and ours differ by more than bsPower.disagreementPct for 15 min. */
  'time-to-dark-disagreement': rule('warning', 'disaster', { onDelaySec: 900 }),
  /** The controller's battery_low, or the battery voltage at the backstop, while on battery. */
  'battery-low': rule('critical', 'disaster'),
  /** Silent on battery for longer than its time to dark. */
  'site-presumed-dark': rule('critical', 'disaster'),
  /** Root cause: several sites of one district lost mains within minutes (a district power cut). */
  'district-mains-lost': rule('major', 'disaster'),
  'generator-fault': rule('major', 'disaster'),
  'backhaul-satellite': rule('warning', 'disaster', { onDelaySec: 60 }),
  'backhaul-down': rule('critical', 'disaster'),
  'battery-replace': rule('warning', 'field', { offDelaySec: 3600 }),
  'ring-segment-down': rule('minor', 'disaster'),
  'ring-segment-degraded': rule('warning', 'disaster', { onDelaySec: 60 }),
  /** Main signal lost while the supervisory channel is up: a terminal board, not the cable. */
  'ring-board-fault': rule('minor', 'disaster'),
  'ring-upstream-down': rule('minor', 'disaster'),
  'ring-island-isolated': rule('critical', 'disaster'),
  'pole-5g-down': rule('major', 'field', { onDelaySec: 30 }),
  'pole-cabinet-overtemp': rule('warning', 'field'),
  'pole-door-open': rule('minor', 'field'),
  'pole-wbgt-danger': rule('major', 'field'),
  'water-leak': rule('minor', 'water'),
  'water-burst': rule('major', 'water'),
  'water-backflow': rule('minor', 'water'),
  'water-low-battery': rule('warning', 'water'),
  'meter-alarm': rule('minor', 'water'),
  'welfare-watch': rule('major', 'water'),
  /** A welfare-enrolled meter fell silent: a welfare concern (only roles with welfare access see it). */
  'welfare-silent': rule('major', 'water'),
  'dma-night-flow': rule('minor', 'water'),
  /** The bureau's notice: a household's month up by water.usage.risePct on the month before or last year's. */
  'water-usage-rise': rule('warning', 'water'),
  // The ingest itself (rules/ingest-disk.ts): while its journal takes no messages, no reading reaches any
  // rule, so every group is blind; disaster ops run the operations centre.
  'disk-space-low': rule('critical', 'disaster'),
  'journal-write-failed': rule('critical', 'disaster'),
};
export type RuleId = keyof typeof rulesShape;
export const RULE_IDS = Object.keys(rulesShape) as RuleId[];

const CHEMISTRY_DEFAULTS: Readonly<Record<string, Chemistry>> = {
  vrla: { peukertK: 1.2, cells: 24, backstopVoltsPerCell: 1.85 },
  'li-ion': { peukertK: 1.03, cells: 16, backstopVoltsPerCell: 3.0 },
  flooded: { peukertK: 1.3, cells: 24, backstopVoltsPerCell: 1.85 },
};

export interface Chemistry {
  peukertK: number;
  /** Cells in series in the −48 V string (24 lead-acid, 16 LiFePO4), when the site has no `batteryCells` attribute. */
  cells: number;
  /** On battery, a string voltage at or below cells × this is critical, whatever the estimate says (a backstop). */
  backstopVoltsPerCell: number;
}

/** A chemistry as the file gives it: any field left out is the named chemistry's default (a new one: VRLA's). */
const chemistry = z.strictObject({
  peukertK: z.number().min(1).max(1.6).optional(),
  cells: z.number().int().min(1).max(64).optional(),
  backstopVoltsPerCell: z.number().min(1).max(4).optional(),
  /** Refused with the reason: earlier versions had it. */
  depthOfDischargePct: z
    .unknown()
    .refine((v) => v === undefined, { error: 'no longer used: a standby plant runs to its low-voltage disconnect (SoC 0 %), a depth-of-discharge limit is a cycle-life rule; remove it, or set bsPower.reservePct to hold back a share of the capacity' })
    .optional(),
});

/** The built-in chemistries, with those the file names added or changed field by field. */
const chemistries = z
  .record(z.string().min(1), chemistry)
  .default({})
  .transform((given): Record<string, Chemistry> => {
    const out: Record<string, Chemistry> = { ...CHEMISTRY_DEFAULTS };
    for (const [name, c] of Object.entries(given)) {
      const base = CHEMISTRY_DEFAULTS[name] ?? CHEMISTRY_DEFAULTS.vrla!;
      out[name] = { peukertK: c.peukertK ?? base.peukertK, cells: c.cells ?? base.cells, backstopVoltsPerCell: c.backstopVoltsPerCell ?? base.backstopVoltsPerCell };
    }
    return out;
  });

/** IEEE 485 temperature correction (domain notes: the standard's °F table converted to °C). */
const IEEE485_TEMPERATURE_FACTORS: Array<[number, number]> = [[-3.9, 1.52], [0, 1.4], [4.4, 1.3], [10, 1.19], [15.6, 1.11], [20, 1.056], [25, 1.0], [26.7, 0.987]];

const bsPower = z
  .strictObject({
    /** Chemistry when the site has no `battery` attribute; VRLA, the shorter estimate, errs on the safe side. */
    defaultChemistry: text().default('vrla'),
    chemistries,
    /** Hours of the discharge rate the capacity is rated at (C10). */
    ratedHours: num(10, { min: 1, max: 100 }),
    /** Share of the capacity held back from the estimate, % (0: the plant runs to its disconnect). */
    reservePct: num(0, { min: 0, max: 90 }),
    /** Prefer the controller's own estimate (`runtimeMin`) to ours when it reports one; both are kept. */
    preferController: z.boolean().default(true),
    /** Warn (rule time-to-dark-disagreement) when the two estimates differ by more than this share. */
    disagreementPct: num(25, { min: 1, max: 500 }),
    /**
     * The major and critical tiers are judged on the estimate less this share, so the critical alert comes
     * ahead of the last hour even when the estimate is a little long (load changes, ageing).
     */
    escalationMarginPct: num(10, { min: 0, max: 50 }),
    /** The same while the site is silent and its estimate is counted down (its load is unknown). */
    silentMarginPct: num(15, { min: 0, max: 50 }),
    /** Backup target when the site has no `targetHours` attribute (domain: ≥ 24 h). */
    targetHours: num(24, { min: 0, max: 720 }),
    /** Target for sites with attribute `priority: remote-island` (domain: 72 h effort target). */
    remoteIslandTargetHours: num(72, { min: 0, max: 720 }),
    majorHours: num(6, { min: 0, max: 720 }),
    criticalHours: num(1, { min: 0, max: 720 }),
    /** A tier clears only when time to dark is this much above its threshold (deadband). */
    deadbandPct: num(5, { min: 0, max: 50 }),
    /** IEEE 485 temperature correction: [°C, factor]; capacity is divided by the factor (1.00 at 25 °C). */
    temperatureDerating: z.array(z.tuple([z.number(), z.number()])).min(1).default(IEEE485_TEMPERATURE_FACTORS),
    /** Hours a full fuel tank runs the generator, when the site has no `generatorTankHours` attribute. */
    generatorTankHours: num(24, { min: 0, max: 720 }),
    /** Replace batteries below this state of health (domain: 80 % of rated capacity). */
    sohReplacePct: num(80, { min: 0, max: 100 }),
    /** A district power cut (root cause): at least this many sites of one district lose mains … */
    districtMinSites: num(2, { min: 2, max: 1000, int: true }),
    /** … within this many minutes of each other. */
    districtWindowMin: num(15, { min: 1, max: 1440 }),
  })
  .superRefine((v, ctx) => {
    if (!(v.defaultChemistry in v.chemistries)) ctx.addIssue({ code: 'custom', path: ['defaultChemistry'], message: `must be one of the chemistries (${Object.keys(v.chemistries).join(', ')})` });
    if (!(v.criticalHours <= v.majorHours)) ctx.addIssue({ code: 'custom', path: ['criticalHours'], message: 'must be ≤ majorHours' });
  })
  .prefault({});

const segmentId = text(SEGMENT_ID_PATTERN, 'a segment id such as oshima-toshima');
const segment = z.strictObject({ id: segmentId, ends: z.array(text()).length(2) });
const topology = z
  .strictObject({
    islands: z.array(text()).min(1).default([...DEFAULT_RING_TOPOLOGY.islands]),
    gateways: z.array(text()).min(1).default([...DEFAULT_RING_TOPOLOGY.gateways]),
    segments: z
      .array(segment)
      .min(1)
      .default(DEFAULT_RING_TOPOLOGY.segments.map((s) => ({ id: s.id, ends: [...s.ends] }))),
    upstream: z.record(z.string(), segmentId).default({ ...DEFAULT_RING_TOPOLOGY.upstream }),
  })
  .superRefine((t, ctx) => {
    const notAnIsland = (path: PropertyKey[], island: string) => ctx.addIssue({ code: 'custom', path, message: `"${island}" is not one of the islands` });
    t.gateways.forEach((g, i) => t.islands.includes(g) || notAnIsland(['gateways', i], g));
    // The other checks read the gateways: told of a wrong gateway, the reader fixes it first.
    if (!t.gateways.every((g) => t.islands.includes(g))) return;
    t.segments.forEach((s, i) => s.ends.forEach((e, j) => t.islands.includes(e) || notAnIsland(['segments', i, 'ends', j], e)));
    Object.keys(t.upstream).forEach((g) => t.gateways.includes(g) || ctx.addIssue({ code: 'custom', path: ['upstream', g], message: 'is not a gateway' }));
  })
  .prefault({});

const pole = section({
  cabinetWarnC: num(45, { min: -40, max: 120 }),
  cabinetMajorC: num(50, { min: -40, max: 120 }),
  cabinetDeadbandC: num(3, { min: 0, max: 20 }),
  /** Domain notes: WBGT 28–31 severe caution, ≥ 31 danger. */
  wbgtDangerC: num(31, { min: 0, max: 50 }),
  wbgtSevereCautionC: num(28, { min: 0, max: 50 }),
  /** Also warn (severity warning) at severe caution, not only at danger. */
  warnAtSevereCaution: z.boolean().default(false),
  wbgtDeadbandC: num(0.5, { min: 0, max: 5 }),
  /** v1 poles report neither solar radiation nor wind: the formula uses these (shade, still air). */
  assumedSolarKwM2: num(0, { min: 0, max: 1.5 }),
  assumedWindMs: num(0, { min: 0, max: 60 }),
});

const water = section({
  /** Kamstrup LEAK: no continuous `leakDryMinutes` without flow in the last `leakWindowHours`. */
  leakDryMinutes: num(60, { min: 1, max: 1440 }),
  leakWindowHours: num(24, { min: 1, max: 168 }),
  /** Q3 (permanent flow) when the meter has no `q3Lph` (or older `nominalFlowLph`) attribute: 2.5 m³/h, a DN15 household meter. */
  nominalFlowLph: num(2500, { min: 1 }),
  /** BURST: flow above this share of Q3 for `burstMinutes` (Zenner: > 30 % of Q3 for 30 min; a bath, ~500 L/h, is not a burst). */
  burstSharePct: num(30, { min: 1, max: 100 }),
  burstMinutes: num(30, { min: 1, max: 1440 }),
  /** Reverse flow that raises backflow: register going down by at least this many litres. */
  backflowMinL: num(1, { min: 1 }),
  lowBatteryPct: num(10, { min: 0, max: 100 }),
  lowBatteryDeadbandPct: num(5, { min: 0, max: 50 }),
  /**
   * Welfare watch (見守り): no use for this many hours, at meters with attribute welfareWatch = true (or
   * the household's own `welfareHours`). 24 h: in the simulator a resident living alone goes 12 h without
   * water about once in two months (an evening to a late morning), never 24 h.
   */
  welfareNoUseHours: num(24, { min: 1, max: 168 }),
  /**
   * A dripping tap or running cistern (5–30 L/h) is no sign of life: "use" is water above the meter's
   * steady flow (its lowest interval flow of the last 12–24 h, counted up to this leak level, L/h) …
   */
  welfareLeakLph: num(30, { min: 0, max: 10_000 }),
  /** … by more than this many litres in one reading interval (the register counts whole litres: 1 L is jitter). */
  welfareMinUseL: num(1, { min: 0, max: 1000 }),
  /** A welfare-enrolled meter silent this long is itself a welfare concern (rule welfare-silent; attribute welfareSilentHours). */
  welfareSilentHours: num(24, { min: 1, max: 720 }),
  /** Severity of each alarm flag a meter reports (rule meter-alarm, object = the flag; `leak` goes to water-leak). */
  flagSeverity: section(
    Object.fromEntries(WATER_METER_ALARMS.map((a) => [a, z.enum(SEVERITIES).default(a === 'burst' || a === 'tamper' ? 'major' : a === 'lowBattery' || a === 'noFlow' ? 'warning' : 'minor')])) as Record<
      (typeof WATER_METER_ALARMS)[number],
      z.ZodDefault<z.ZodEnum<{ [K in Severity]: K }>>
    >,
  ),
  /** Volumes from interpolated registers and the DMA balance (ingest/src/water). */
  balance: section({
    /** Readings further than this from a period's end are not used for it; a silent meter is estimated at most this long. */
    maxGapHours: num(48, { min: 1, max: 24 * 62 }),
    /** A register drop larger than this is a rollover or a reset, not reverse flow. */
    resetMinDropL: num(1000, { min: 1 }),
    /** Below this share of customer meters with readings around both ends, a balance is incomplete. */
    minCoveragePct: num(98, { min: 0, max: 100 }),
  }),
  night: section({
    /** Minimum night flow window, local hours (domain: about 02:00–04:00). */
    startHour: num(2, { min: 0, max: 23, int: true }),
    endHour: num(4, { min: 1, max: 24, int: true }),
    /** Local time offset from UTC, minutes (JST +540). Days, nights and months of the water views use it too. */
    utcOffsetMin: num(540, { min: -720, max: 840, int: true }),
    /** Legitimate night use: this share of the customers' night consumption is taken off the inlet minimum. */
    legitimateUsePct: num(20, { min: 0, max: 100 }),
    /** Raise when night flow per connection exceeds the baseline by this share … */
    marginPct: num(30, { min: 0, max: 1000 }),
    /** … and by at least this many L/h per connection (a quiet DMA's baseline is small, its noise is not). */
    minRiseLphPerConnection: num(1, { min: 0, max: 1000 }),
    deadbandPct: num(10, { min: 0, max: 100 }),
    /** Learned baseline: median of this many previous normal nights, once `minNights` are known. */
    learnNights: num(7, { min: 1, max: 60, int: true }),
    minNights: num(3, { min: 1, max: 60, int: true }),
    /** Fixed baselines per DMA id, L/h for the whole DMA (overrides learning). */
    baselinesLph: z.record(z.string(), z.number().min(0)).default({}),
    /** A night is judged once all its data is in, or this long after its window when a meter is still late. */
    graceHours: num(6, { min: 0, max: 72 }),
    /** Nights judged again when late data changes their figures. */
    rejudgeNights: num(3, { min: 1, max: 14, int: true }),
    /** Below this share of customer meters covering the window, the night is not judged. */
    minCoveragePct: num(90, { min: 0, max: 100 }),
    /** How often the DMAs' nights and the monthly usage are computed from the store (clock minutes). */
    evaluateEveryMin: num(15, { min: 0, max: 1440 }),
  }),
  /** Usage notices (rule water-usage-rise): a month's use against the month before and the same month last year. */
  usage: section({
    risePct: num(50, { min: 1, max: 10_000 }),
    /** Months using less than this are never noticed (noise). */
    minMonthLitres: num(3000, { min: 0 }),
    /** A month is judged this long after it ends (late meters). */
    graceHours: num(24, { min: 0, max: 24 * 14 }),
  }),
});

const webhook = z.strictObject({
  name: text(/^[A-Za-z0-9_-]{1,64}$/, 'a name of letters, digits, - and _').default('webhook'),
  url: text(/^https?:\/\//, 'an http:// or https:// URL').default('http://127.0.0.1/'),
  severities: z.array(z.enum(SEVERITIES)).default([...SEVERITIES]),
  groups: z.array(z.enum(ALERT_GROUPS)).default([...ALERT_GROUPS]),
  events: z.array(z.enum(ALERT_EVENT_KINDS)).default(['raised', 'escalated', 'cleared']),
  headers: z.record(z.string(), text()).default({}),
  timeoutMs: num(5000, { min: 100, max: 60_000 }),
  maxAttempts: num(6, { min: 1, max: 100, int: true }),
  retryInitialMs: num(1000, { min: 1 }),
  retryMaxMs: num(60_000, { min: 1 }),
  /** Bounded queue per webhook; when full, the oldest waiting notification is dead-lettered. */
  queueLimit: num(1000, { min: 1, int: true }),
});

export const alertRulesSchema = z.strictObject({
  /** How often the clock-driven evaluator runs (silence, delays, shelving expiry, night flow). */
  evaluateEverySec: num(5, { min: 0.01, max: 3600 }),
  rules: section(rulesShape),
  lifecycle: section({
    /** ISA-18.2 chattering: this many raise/clear transitions within the window. */
    chatterTransitions: num(3, { min: 2, int: true }),
    chatterWindowSec: num(60, { min: 1 }),
    /** ISA-18.2 flood: this many alerts raised in a group within the window. */
    floodAlerts: num(10, { min: 2, int: true }),
    floodWindowMin: num(10, { min: 1 }),
    /**
     * Severities still notified one by one during a flood. Major and critical raises and escalations are
     * always notified (ISA-18.2: flood handling never hides the highest priorities), whatever this says.
     */
    floodPassSeverities: z.array(z.enum(SEVERITIES)).default(['critical', 'major']),
  }),
  silence: section({
    /** Silent after k × the sample interval the device announced in its birth (`sampleSec`). */
    k: num(3, { min: 1, max: 1000 }),
    /** Never call a device silent sooner than this, whatever its interval. */
    minSilenceSec: num(30, { min: 0 }),
    types: z.array(z.enum(DEVICE_TYPES)).default([...DEVICE_TYPES]),
  }),
  offline: section({ types: z.array(z.enum(DEVICE_TYPES)).default(['smart-pole', 'bs-power', 'ring-node']) }),
  bsPower,
  ring: section({
    name: text(/^[a-z0-9-]{1,40}$/, 'a lower-case name').default('izu-ring'),
    topology,
    /** A ring node's segment report expires after this many of its reporting intervals (from its birth); then `unknown`. */
    reportExpiryIntervals: num(3, { min: 1, max: 100 }),
    /** Reporting interval assumed for a ring node whose birth was not seen, s. */
    defaultReportSec: num(300, { min: 1, max: 86_400 }),
  }),
  pole,
  water,
  notifications: section({ webhooks: z.array(webhook).default([]) }),
});

export type AlertRulesConfig = z.output<typeof alertRulesSchema>;
export type RuleSettings = AlertRulesConfig['rules'][RuleId];
export type WebhookConfig = AlertRulesConfig['notifications']['webhooks'][number];

/** Validates (and defaults) a rules object; the result is frozen (style: fastify config). */
export function parseAlertRules(input: unknown = {}): Readonly<AlertRulesConfig> {
  const result = parseConfig(alertRulesSchema, input, '(rules)');
  if (!result.ok) throw new IngestError('INGEST_ERR_ALERT_CONFIG', result.problems.join('\n'), { details: result.problems });
  return result.value;
}

export const DEFAULT_ALERT_RULES: Readonly<AlertRulesConfig> = parseAlertRules({});

/** JSON Schema of the rules file, for editors (`npm run config:export` writes ingest/schema/alert-rules.schema.json). */
export function alertRulesJsonSchema(): Record<string, unknown> {
  return configJsonSchema(alertRulesSchema, {
    id: 'https://tsunagaru.example/config/alert-rules.schema.json',
    title: 'Tsunagaru alert rules (ALERT_RULES_FILE)',
    description: 'The ingest\'s alert rules, JSON or YAML. Every field is optional: what is left out takes its default (shown).',
  });
}

/** Reads a rules file: YAML when it ends in .yaml/.yml, JSON otherwise. */
export function loadAlertRulesFile(path: string): Readonly<AlertRulesConfig> {
  const yaml = /\.ya?ml$/i.test(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IngestError('INGEST_ERR_ALERT_CONFIG', `${path}: cannot read the alert rules file (${(err as Error).message}); set ALERT_RULES_FILE to a readable file, or unset it for the built-in rules`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new IngestError('INGEST_ERR_ALERT_CONFIG', `${path}: invalid ${yaml ? 'YAML' : 'JSON'} (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
  const result = parseConfig(alertRulesSchema, raw ?? {}, '(rules)');
  if (!result.ok) throw new IngestError('INGEST_ERR_ALERT_CONFIG', result.problems.map((p) => `${path}: ${p}`).join('\n'), { details: result.problems });
  return result.value;
}
