import type { DeviceRecord } from '@tsunagaru/firmware-contracts';
import type { Logger } from 'pino';
import { backoffDelay } from '../backoff.js';
import { BusyError, IngestError } from '../errors.js';
import type { ContractMessage } from '@tsunagaru/firmware-contracts';
import { AlertLifecycle, type LifecycleEvent } from './lifecycle.js';
import { routeMessage } from './rules/route-message.js';
import { RuleState, type RuleContext } from './rules/context.js';
import { evaluateCountdowns } from './rules/bs-power.js';
import { evaluateSilence, type LastSeenSource } from './rules/device-status.js';
import { createCorrelation } from './correlation.js';
import { DueDevices, type DeviceChanges } from './due-devices.js';
import { forgetFutureState } from './rules/future-state.js';
import { evaluateIngestDisk, type IngestRefusal } from './rules/ingest-disk.js';
import { evaluateWelfareSilence, onWaterBattery } from './rules/water.js';
import { judgeDmaNights } from './rules/dma-night.js';
import { judgeUsage, USAGE_MONTH_JUDGED } from './rules/usage-rise.js';
import type { WaterFigures, WaterKnown } from '../water/watch.js';
import type { AlertRulesConfig } from './rules-config.js';
import type { AlertQuery, AlertStore } from './store.js';
import type { Alert, AlertEvent, Condition, StateVerdict } from './types.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface AlertEngineDeps {
  config: Readonly<AlertRulesConfig>;
  store: AlertStore;
  lastSeen: LastSeenSource;
  /**
   * The device registry (attributes such as battery, dma, welfareWatch; the list of bs-power sites), and
   * its change feed when it has one (a device's attributes changed: its clock-driven verdicts are judged again).
   */
  devices: { getDevice(id: string): DeviceRecord | undefined; listDevices(): DeviceRecord[] } & DeviceChanges;
  clock: () => number;
  /** Rule state stamped further ahead of `clock` than this is forgotten at open (rules/future-state.ts). Default 5 min. */
  maxClockSkewMs?: number;
  logger?: Logger;
  /** Night flow and monthly use from the store (water/watch.ts); without it those rules judge nothing. */
  water?: { gather(now: number, known?: WaterKnown): Promise<WaterFigures | null> };
}

export type AlertListener = (event: AlertEvent) => void;

/** The open alerts' load at open: since when, and its failures so far (AlertEngine.restore). */
interface Restoring {
  since: number;
  failures: number;
  error?: string;
}

/** What a reader of the open alerts is told while they cannot be loaded (AlertEngine.loaded). */
function notLoaded(r: Restoring): BusyError {
  return new BusyError('INGEST_ERR_BUSY', `the open alerts are not loaded yet: ${r.failures} ${r.failures === 1 ? 'try' : 'tries'} to read them from the store failed since the start (last: ${r.error ?? 'unknown error'}); they are tried again`, 5);
}

type Inbox = Array<{ message: ContractMessage; state?: StateVerdict }>;

/** Devices judged by the clock-driven rules between two turns of the event loop (see tick). */
const EVALUATE_SLICE = 2_000;

/** Rule state and value-only alert updates are saved this often (and at close). */
const FLUSH_EVERY_MS = 30_000;

/**
 * The alert engine: accepted messages (the dispatcher, at once), the store's verdicts on births and deaths
 * (the store batch) and a clock drive the rules; their conditions go through the lifecycle; every change is
 * saved before listeners (SSE, webhooks) hear of it. Work runs one item at a time in arrival order, so
 * alerts follow the order messages were received.
 */
export class AlertEngine {
  readonly lifecycle: AlertLifecycle;
  private readonly listeners = new Set<AlertListener>();
  private readonly changeListeners = new Set<AlertListener>();
  private readonly lazy = new Map<string, Alert>();
  private tail: Promise<void> = Promise.resolve();
  /** Messages waiting for the queue item that will evaluate them (see take). */
  private inbox: Inbox | undefined;
  /** Alert saves, one after another; `group` collects what the next one writes (see persist). */
  private saving: Promise<void> = Promise.resolve();
  /** Rule state writes, one after another (see flush). */
  private stateSaving: Promise<void> = Promise.resolve();
  private group: { alerts: Map<string, Alert>; done: Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The water figures being read in the background (gatherInBackground). */
  private waterRead: Promise<void> | undefined;
  /** close() has begun: no background read starts, none is judged. */
  private closing = false;
  private lastFlush: number;
  private closed = false;
  /** Which devices the clock judges at each evaluation (the changed and the due, not all 130,000). */
  private readonly due: DueDevices;

  private constructor(
    private readonly deps: AlertEngineDeps,
    readonly state: RuleState,
  ) {
    const c = deps.config;
    this.lifecycle = new AlertLifecycle({
      timing: (rule) => {
        const r = c.rules[rule as keyof typeof c.rules];
        return r ? { enabled: r.enabled, group: r.group, onDelayMs: r.onDelaySec * 1000, offDelayMs: r.offDelaySec * 1000 } : { enabled: false, group: 'field', onDelayMs: 0, offDelayMs: 0 };
      },
      chatterTransitions: c.lifecycle.chatterTransitions,
      chatterWindowMs: c.lifecycle.chatterWindowSec * 1000,
      floodAlerts: c.lifecycle.floodAlerts,
      floodWindowMs: c.lifecycle.floodWindowMin * 60_000,
      floodPassSeverities: c.lifecycle.floodPassSeverities,
      correlation: createCorrelation({
        ringName: c.ring.name,
        segmentsAt: (island) => c.ring.topology.segments.filter((s) => s.ends.includes(island)).map((s) => s.id),
        attributes: (id) => deps.devices.getDevice(id)?.attributes ?? {},
      }),
    });
    this.lastFlush = deps.clock();
    this.due = new DueDevices(deps.lastSeen, deps.devices);
  }

  /**
   * Loads the rules' state saved before the last stop, and the open alerts as the first item of the
   * engine's queue: everything else the engine does (messages, the clock, operators' actions, lists) waits
   * in order behind it, so nothing is judged without them, and the ingest need not wait for them to take
   * messages. A city's 130,000 open silence alerts took 2.2-3.6 s of a 7-11 s start (bench history).
   * Readers outside the queue await `restored` (the resilience view).
   */
  static async open(deps: AlertEngineDeps): Promise<AlertEngine> {
    const state = new RuleState(await deps.store.loadRuleState());
    const healed = forgetFutureState(state, deps.clock() + (deps.maxClockSkewMs ?? 5 * 60_000));
    if (healed.length > 0) deps.logger?.warn({ event: 'rule_state_from_the_future', scopes: healed.slice(0, 20), count: healed.length }, `forgot the rules' memory of ${healed.length} devices: it held samples stamped in the future (wrong device clocks)`);
    const engine = new AlertEngine(deps, state);
    engine.restored = engine.enqueue(() => engine.restore());
    return engine;
  }

  /** Resolves once the open alerts saved before the last stop are back (see open). */
  restored: Promise<void> = Promise.resolve();
  /** Open alerts being loaded, and the last failure to load them (health). */
  private restoring: Restoring | undefined;
  /** Readers waiting for the load (loaded()), told at its next failure. */
  private readonly restoreWaiters = new Set<(err: BusyError) => void>();
  /** Ends the pause before the next load at close. */
  private wakeRestore: (() => void) | undefined;

  /**
   * The open alerts, tried again until they load: judging without them would raise again what is open,
   * and lose acknowledgements and shelving. The queue waits meanwhile (health says why).
   */
  private async restore(): Promise<void> {
    const restoring: Restoring = { since: this.deps.clock(), failures: 0 };
    this.restoring = restoring;
    while (!this.closing) {
      try {
        this.lifecycle.restore(await this.deps.store.loadOpen(), this.deps.clock());
        this.restoring = undefined;
        this.restoreWaiters.clear();
        return;
      } catch (err) {
        const wait = backoffDelay(restoring.failures, { initialMs: 1_000 });
        restoring.failures++;
        restoring.error = (err as Error).message;
        this.deps.logger?.error({ err, event: 'alerts_restore_failed', failures: restoring.failures }, `loading the open alerts failed; no alert is judged until they are loaded (tried again in ${wait / 1000} s)`);
        for (const tell of this.restoreWaiters) tell(notLoaded(restoring));
        this.restoreWaiters.clear();
        // A stop does not wait out the pause (close wakes it, or began during the load).
        if (this.closing) return;
        await new Promise<void>((r) => {
          const timer = setTimeout(r, wait);
          timer.unref();
          this.wakeRestore = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.wakeRestore = undefined;
      }
    }
  }

  /**
   * Resolves once the open alerts are loaded (at once when they are). Rejects with INGEST_ERR_BUSY, saying
   * why, when a load has failed: a reader that needs them (the alert lists, the resilience view) answers
   * that they are not loaded instead of waiting through the retries, or showing no alarm where one is open.
   */
  loaded(): Promise<void> {
    const restoring = this.restoring;
    if (!restoring) return Promise.resolve();
    if (restoring.failures > 0) return Promise.reject(notLoaded(restoring));
    return new Promise<void>((resolve, reject) => {
      this.restoreWaiters.add(reject);
      this.restored.then(resolve, resolve);
    });
  }

  /** Whether the open alerts are still being loaded (see open), for health. */
  restoreStatus(): { restoring: boolean } & Partial<Restoring> {
    return this.restoring ? { restoring: true, ...this.restoring } : { restoring: false };
  }

  get config(): Readonly<AlertRulesConfig> {
    return this.deps.config;
  }

  /** Starts the clock-driven evaluator (silence, delays, shelving expiry, night flow). */
  start(): void {
    this.timer ??= setInterval(() => void this.tick({ waterInBackground: true }), this.deps.config.evaluateEverySec * 1000);
    this.timer.unref();
  }

  /** Notified changes (not shelved, not flooded, not value-only): consoles and webhooks. */
  subscribe(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Every change once it is saved, notified or not (value updates included): for writers that keep the
   * alert history elsewhere, e.g. the InfluxDB `alert` measurement (firmware-contracts influx-schema.ts ALERT_POINT).
   */
  onChange(listener: AlertListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** A message the dispatcher accepted (durable in the journal, valid; dispatch/outcome.ts Accepted): its readings go to the rules. */
  onAccepted(accepted: { message: ContractMessage }): void {
    this.take(accepted.message);
  }

  /** The store's verdict on a birth or a death (the store batch's `state` outcome): the state rules. */
  onState(message: ContractMessage, state: StateVerdict): void {
    if (message.channel === 'state') this.take(message, state);
  }

  /**
   * Queues a message for the rules and returns at once. Messages that arrive one after another share one
   * item of the queue (an inbox, sealed when anything else is queued or when it starts), so thousands of
   * messages a second cost a few queue items, not one each.
   */
  private take(message: ContractMessage, state?: StateVerdict): void {
    // Heard: its silence is judged again at the next evaluation, even should its status not be saved.
    this.due.touch(message.deviceId);
    if (!this.inbox) {
      const batch: Inbox = [];
      void this.enqueue(async () => {
        if (this.inbox === batch) this.inbox = undefined;
        const events = this.evaluate(this.deps.clock(), (rc) => {
          for (const m of batch) {
            try {
              routeMessage(rc, m.message, m.state);
            } catch (err) {
              this.deps.logger?.error({ err, event: 'alert_rule_failed', deviceId: m.message.deviceId }, 'an alert rule failed on a message; the others still ran');
            }
          }
        });
        // Not awaited: the next messages' rules run while these changes are being saved (listeners still
        // hear of them only once saved, in order). See persist.
        this.commit(events).catch((err: unknown) => this.deps.logger?.error({ err, event: 'alert_save_failed' }, 'saving alert changes failed; listeners were not told'));
      });
      this.inbox = batch; // after enqueue, which seals any earlier inbox
    }
    this.inbox.push(state ? { message, state } : { message });
  }

  /**
   * One run of the clock-driven rules; resolves when its changes are saved and published. The water
   * figures (night flows, monthly use) are read first and judged with the rest, or, with
   * `waterInBackground` (the evaluator's timer), read while the rules go on and judged when they are in:
   * a city's nights take tens of seconds to read, and silence, countdowns and delays must not wait for
   * them (they did: every evaluateEveryMin the engine stood still for the read).
   */
  tick(o: { waterInBackground?: boolean } = {}): Promise<void> {
    return this.enqueue(async () => {
      const now = this.deps.clock();
      const judged = await this.due.take(now);
      const water = o.waterInBackground ? (this.gatherInBackground(now), null) : await this.gatherWater(now);
      // The devices a slice at a time, with the event loop free between slices: a city's 130,000 meters
      // falling silent together (a head-end or its link lost) held it 6.9 s in one piece (raising every
      // alert, then the garbage of it), and MQTT and the API stood still meanwhile. Every slice is judged
      // at the same `now`, and nothing else of the engine runs between them (this is one queue item).
      const events: LifecycleEvent[] = [];
      for (let i = 0; i < judged.devices.length; i += EVALUATE_SLICE) {
        if (i > 0) await nextTurn();
        const slice = judged.devices.slice(i, i + EVALUATE_SLICE);
        events.push(
          ...this.evaluate(now, (rc) => {
            evaluateSilence(rc, slice, this.due.wake);
            evaluateWelfareSilence(rc, slice, this.due.wake);
          }),
        );
      }
      events.push(
        ...this.evaluate(now, (rc) => {
          evaluateCountdowns(rc, judged.heard);
          if (water) judgeWater(rc, water);
        }),
      );
      await this.commit(events);
      await this.commit(this.lifecycle.tick(now));
      // Not awaited: the rules go on while it is written (see flush).
      if (now - this.lastFlush >= FLUSH_EVERY_MS) this.flush(now).catch((err: unknown) => this.deps.logger?.error({ err, event: 'alert_state_save_failed' }, 'saving the rules\' state failed; it is saved again at the next flush'));
    });
  }

  private gatherWater(now: number): Promise<WaterFigures | null> {
    const judged = this.state.get<{ month?: unknown } | null>(USAGE_MONTH_JUDGED)?.month;
    return this.deps.water?.gather(now, typeof judged === 'string' ? { usageMonthJudged: judged } : {}).catch((err: unknown) => {
      if (this.closing) return null; // interrupted by the stop
      this.deps.logger?.error({ err, event: 'water_figures_failed' }, 'reading the night flows and monthly use failed; they are read again at the next evaluation');
      return null;
    }) ?? Promise.resolve(null);
  }

  /** Reads the water figures unless a read is still going, and judges them in the queue once read. */
  private gatherInBackground(now: number): void {
    if (this.waterRead || !this.deps.water || this.closing) return;
    this.waterRead = this.gatherWater(now)
      .then((water) =>
        water && !this.closing
          ? this.enqueue(async () => {
              // Closing began while this waited in the queue: its flush must be the last word.
              if (!this.closing) await this.apply(this.deps.clock(), (rc) => judgeWater(rc, water));
            })
          : undefined,
      )
      .catch((err: unknown) => this.deps.logger?.error({ err, event: 'water_judge_failed' }, 'judging the night flows and monthly use failed; they are read again at the next evaluation'))
      .finally(() => (this.waterRead = undefined));
  }

  /**
   * A water meter's battery reported outside its readings: a LoRaWAN network server's DevStatusAns
   * (ChirpStack `status`, integrations/chirpstack). The low-battery rule judges it as it judges a sample's.
   */
  onMeterBattery(deviceId: string, batteryPct: number): Promise<void> {
    return this.enqueue(async () => {
      await this.apply(this.deps.clock(), (rc) => onWaterBattery(rc, deviceId, batteryPct));
    });
  }

  /** The ingest's journal stopped taking messages (or takes them again: null); see rules/ingest-disk.ts. */
  onIngestRefusal(refusal: IngestRefusal | null): Promise<void> {
    return this.enqueue(async () => {
      await this.apply(this.deps.clock(), (rc) => evaluateIngestDisk(rc, refusal));
    });
  }

  /** Runs an operator action (ack, shelve…) in order with the rules' work. */
  act<T>(fn: (now: number) => Promise<{ result: T; events: LifecycleEvent[] }>): Promise<T> {
    let out!: T;
    return this.enqueue(async () => {
      const { result, events } = await fn(this.deps.clock());
      await this.commit(events);
      out = result;
    }).then(() => out);
  }

  /** Resolves when everything queued so far is done and saved (tests, benchmarks). */
  idle(): Promise<void> {
    return this.enqueue(async () => {
      await this.group?.done.catch(() => undefined);
      await this.saving;
    });
  }

  ruleContext(now: number, sink: (c: Condition) => void): RuleContext {
    return {
      config: this.deps.config,
      state: this.state,
      now,
      attributes: (id) => this.deps.devices.getDevice(id)?.attributes ?? {},
      severityOf: (id, rule, object = null) => this.lifecycle.conditionSeverity(id, rule, object),
      report: sink,
    };
  }

  get devices(): AlertEngineDeps['devices'] {
    return this.deps.devices;
  }

  /** Alerts as stored, with the open ones replaced by their live state (values saved lazily are newer). */
  async list(q: AlertQuery): Promise<Alert[]> {
    await this.loaded();
    await this.idle();
    return (await this.deps.store.list(q)).map((a) => {
      const live = this.lifecycle.find(a.id);
      return live ? structuredClone(live) : a;
    });
  }

  async get(id: string): Promise<Alert | undefined> {
    await this.loaded();
    await this.idle();
    const live = this.lifecycle.find(id);
    return live ? structuredClone(live) : this.deps.store.get(id);
  }

  /** When each device was last heard from (receive time), as the silence rule sees it. */
  lastSeen(): ReturnType<LastSeenSource['list']> {
    return this.deps.lastSeen.list();
  }

  get store(): AlertStore {
    return this.deps.store;
  }

  now(): number {
    return this.deps.clock();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wakeRestore?.();
    if (this.timer) clearInterval(this.timer);
    this.due.close();
    await this.idle();
    // A background water read still going is not waited for (a city's nights take a minute; a stop must
    // not): it is never judged, and the store's close interrupts it.
    this.closed = true;
    await this.flush(this.deps.clock());
  }

  private evaluate(now: number, run: (rc: RuleContext) => void): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    // Conditions go to the lifecycle as they are reported, so a rule's deadband sees its own last verdict.
    run(this.ruleContext(now, (c) => events.push(...this.lifecycle.report(c, now))));
    return events;
  }

  private async apply(now: number, run: (rc: RuleContext) => void): Promise<LifecycleEvent[]> {
    const events = this.evaluate(now, run);
    await this.commit(events);
    return events;
  }

  /**
   * Group commit of alert saves: while one save is being written, the changes that follow gather in the
   * next, which starts as soon as it is done. Under a city-wide burst one save took 0.3–0.7 s (its commit
   * waits behind the drainer's), and alerts saved one per message queued behind each other for seconds
   * (bench city-scale p99). Resolves once `alerts` are written.
   */
  private persist(alerts: readonly Alert[]): Promise<void> {
    if (!this.group) {
      const group = { alerts: new Map<string, Alert>(), done: Promise.resolve() };
      group.done = this.saving.then(async () => {
        if (this.group === group) this.group = undefined;
        await this.deps.store.save([...group.alerts.values()]);
      });
      this.saving = group.done.catch(() => undefined);
      this.group = group;
    }
    for (const a of alerts) this.group.alerts.set(a.id, a);
    return this.group.done;
  }

  /** Saves the changed alerts (grouped, see persist), then tells the listeners, in order. */
  private async commit(events: readonly LifecycleEvent[]): Promise<void> {
    if (events.length === 0) return;
    const toSave = new Map<string, Alert>();
    for (const e of events) {
      if (e.lazy) this.lazy.set(e.alert.id, e.alert);
      else {
        toSave.set(e.alert.id, e.alert);
        this.lazy.delete(e.alert.id);
      }
    }
    // Even with nothing to save, wait for the saves ahead: listeners hear of changes in order.
    await this.persist([...toSave.values()]);
    for (const e of events) {
      const event: AlertEvent = { kind: e.kind, at: e.at, alert: e.alert };
      const targets = e.notify ? [...this.changeListeners, ...this.listeners] : this.changeListeners;
      for (const l of targets) {
        try {
          l(event);
        } catch (err) {
          this.deps.logger?.error({ err }, 'alert listener failed');
        }
      }
    }
  }

  /**
   * Saves value-only alert updates (with the alert saves, in their order) and the rules' state changed
   * since the last flush. The engine's queue does not wait for it: after a city-wide reading cycle the
   * state of 130,000 meters is dirty, its write took ~4 s, and every message and alert waited behind it
   * once per flush (bench city-scale, alert latency p99). A failed state write is retried at the next flush.
   */
  private flush(now: number): Promise<void> {
    this.lastFlush = now;
    const lazy = [...this.lazy.values()];
    this.lazy.clear();
    const dirty = this.state.takeDirty();
    const alertsSaved = lazy.length > 0 ? this.persist(lazy) : Promise.resolve();
    const stateSaved = this.stateSaving.then(() => this.deps.store.saveRuleState(dirty));
    this.stateSaving = stateSaved.catch(() => this.state.markDirty(dirty.map(([scope]) => scope)));
    return Promise.all([alertsSaved, stateSaved]).then(() => undefined);
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Messages arriving after this item must be evaluated after it, so they go to a new inbox.
    this.inbox = undefined;
    const next = this.tail.then(work);
    this.tail = next.catch((err: unknown) => {
      // An operator's request that was refused (unknown id, wrong state) is the caller's answer, not a fault.
      if (!(err instanceof IngestError)) this.deps.logger?.error({ err, event: 'alert_engine_error' }, 'alert engine step failed');
    });
    return next;
  }
}

/** The water rules on figures read (dma-night, usage-rise). */
function judgeWater(rc: RuleContext, water: WaterFigures): void {
  judgeDmaNights(rc, water.nights);
  judgeUsage(rc, water.usage);
}
