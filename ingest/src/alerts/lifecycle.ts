import { randomUUID } from 'node:crypto';
import { IngestError } from '../errors.js';
import { FloodDetector } from './flood.js';
import { keyString, SEVERITY_RANK, type Alert, type AlertEvent, type AlertEventKind, type AlertGroup, type AlertKey, type Condition, type Severity } from './types.js';

export interface RuleTiming {
  enabled: boolean;
  group: AlertGroup;
  onDelayMs: number;
  offDelayMs: number;
}

/**
 * Root cause and symptoms (domain notes, "Correlation"): which open alert, if any, an alert follows from.
 * Given the alert and a lookup of open alerts by key; see correlation.ts.
 */
export interface Correlation {
  isRoot(rule: string): boolean;
  causeOf(alert: Alert, openAlert: (key: AlertKey) => Alert | undefined): Alert | undefined;
}

export interface LifecycleOptions {
  timing: (rule: string) => RuleTiming;
  correlation?: Correlation;
  chatterTransitions: number;
  chatterWindowMs: number;
  floodAlerts: number;
  floodWindowMs: number;
  floodPassSeverities: readonly Severity[];
}

/** A change to persist; `notify` says whether consoles and webhooks hear of it (not when shelved or flooded). */
export interface LifecycleEvent extends AlertEvent {
  notify: boolean;
  /** Only a value or text changed: save it with the next periodic flush, not right away. */
  lazy?: boolean;
}

interface ConditionState {
  last: Condition;
  active: boolean;
  changedAt: number;
  /** Times of raise/clear transitions within the chatter window (replaced, never changed in place). */
  transitions: readonly number[];
}

export const FLOOD_RULE = 'alert-flood';
/** Shared empties, frozen (as the alert store's): 130,000 alerts each with its own were ~11 MB. */
const NONE: readonly never[] = Object.freeze([]) as readonly never[];
const NO_DETAIL = Object.freeze({}) as Record<string, never>;
/** The groups as operators call them, for texts. */
const GROUP_NAMES: Record<AlertGroup, string> = { field: 'field engineering', water: 'water bureau', disaster: 'disaster ops' };
export const FLOOD_SOURCE = 'tsunagaru';

/**
 * The alarm lifecycle (X.733 / ISA-18.2): conditions from the rules become alerts keyed by device + rule
 * (+ object). On-delay, off-delay, chattering (3+ transitions a minute: one alert, cleared only once quiet;
 * a re-raise soon after a clear reopens the same alert), shelving, acknowledgement, flood summary.
 * Pure state: the engine persists the returned events and publishes those marked `notify`.
 */
export class AlertLifecycle {
  private readonly conditions = new Map<string, ConditionState>();
  /**
   * Conditions the clock alone may still change (an on-delay running, an off-delay or chattering to
   * settle, an inactive one to forget): the others are active with their alert open, and only a report
   * changes them. tick() looks at these, not at every condition: 130,000 silent meters were 130,000
   * evaluations every 5 s.
   */
  private readonly unsettled = new Set<string>();
  /** Open alerts shelved until a time, by key. */
  private readonly shelvedUntil = new Map<string, Alert>();
  /** Open (active) alerts by key. */
  private readonly open = new Map<string, Alert>();
  /** Alerts cleared within the chatter window, by key, so a re-raise reopens them. */
  private readonly recent = new Map<string, Alert>();
  private readonly flood: FloodDetector;

  constructor(private readonly o: LifecycleOptions) {
    this.flood = new FloodDetector(o.floodAlerts, o.floodWindowMs);
  }

  /** Puts back the open alerts persisted before a restart. */
  restore(alerts: readonly Alert[], now: number): void {
    for (const a of alerts) {
      if (a.state !== 'active') continue;
      Object.assign(a, { observedAt: a.observedAt ?? null, causeId: a.causeId ?? null, symptoms: a.symptoms ?? 0, announced: a.announced ?? !a.flooded });
      const key = keyString(a);
      this.open.set(key, a);
      const last: Condition = { deviceId: a.deviceId, rule: a.rule, object: a.object, active: true, severity: a.severity, message: a.message, deviceType: a.deviceType, value: a.value, detail: a.detail, ...(a.observedAt !== null ? { observedAt: a.observedAt } : {}) };
      this.conditions.set(key, { last, active: true, changedAt: Math.min(a.updatedAt, now), transitions: NONE });
      if (a.shelved?.mode === 'timed') this.shelvedUntil.set(key, a);
    }
  }

  /** Severity the condition holds now (pending or raised), for deadband decisions; null when inactive. */
  conditionSeverity(deviceId: string, rule: string, object: string | null = null): Severity | null {
    const c = this.conditions.get(keyString({ deviceId, rule, object }));
    return c?.active ? c.last.severity : null;
  }

  openAlerts(): Alert[] {
    return [...this.open.values()];
  }

  /** Keys with a condition state, for rules that must clear what they no longer see. */
  activeConditionKeys(rule: string): Condition[] {
    return [...this.conditions.values()].filter((c) => c.active && c.last.rule === rule).map((c) => c.last);
  }

  find(id: string): Alert | undefined {
    for (const a of this.open.values()) if (a.id === id) return a;
    for (const a of this.recent.values()) if (a.id === id) return a;
    return undefined;
  }

  report(cond: Condition, now: number): LifecycleEvent[] {
    const timing = this.timingOf(cond);
    if (!timing.enabled) return [];
    const key = keyString(cond);
    let c = this.conditions.get(key);
    if (!c) {
      if (!cond.active) return [];
      c = { last: cond, active: false, changedAt: now, transitions: NONE };
      this.conditions.set(key, c);
    }
    const events: LifecycleEvent[] = [];
    if (c.active !== cond.active) {
      this.unsettled.add(key);
      c.active = cond.active;
      c.changedAt = now;
      // An array literal of one is allocated to size; one spread into is allocated for 17 (130,000 alerts: ~17 MB).
      const kept = c.transitions.filter((t) => t > now - this.o.chatterWindowMs);
      c.transitions = kept.length === 0 ? [now] : [...kept, now];
      const open = this.open.get(key);
      // Counted on the open alert, so a chattering one shows how often it flipped.
      if (open) {
        open.transitions++;
        events.push({ ...this.emit('updated', open, now, false), lazy: true });
      }
    }
    // The same report again (most clock-driven ones) keeps the condition as it was: replacing it at every
    // evaluation made 130,000 silent meters 130,000 objects of old-generation garbage every 5 s.
    if (cond.active) {
      if (!sameReport(c.last, cond)) c.last = cond;
    } else if (c.last.active) c.last = { ...c.last, active: false };
    return [...events, ...this.evaluate(key, c, timing, now)];
  }

  /** Clock-driven part: delays that ran out, chattering that settled, timed shelving that ended, floods. */
  tick(now: number): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    for (const key of this.unsettled) {
      const c = this.conditions.get(key);
      if (c) events.push(...this.evaluate(key, c, this.timingOf(c.last), now));
      // Deleting the entry being visited is safe in a Set's for-of.
      if (!c || !this.conditions.has(key) || (c.active && this.open.has(key))) this.unsettled.delete(key);
    }
    for (const [key, a] of this.shelvedUntil) {
      if (a.state !== 'active' || a.shelved?.mode !== 'timed') this.shelvedUntil.delete(key);
      else if (a.shelved.until !== null && a.shelved.until <= now) {
        this.shelvedUntil.delete(key);
        a.shelved = null;
        events.push(this.emit('unshelved', a, now, true));
      }
    }
    for (const [key, a] of this.recent) if (a.clearedAt !== null && a.clearedAt <= now - this.o.chatterWindowMs) this.recent.delete(key);
    for (const group of this.flood.settle(now)) {
      const summary = this.open.get(keyString({ deviceId: FLOOD_SOURCE, rule: FLOOD_RULE, object: group }));
      const key = keyString({ deviceId: FLOOD_SOURCE, rule: FLOOD_RULE, object: group });
      this.conditions.delete(key);
      if (summary) events.push(...this.clear(key, summary, now));
    }
    return events;
  }

  acknowledge(alert: Alert, by: string, comment: string | undefined, now: number): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    if (!alert.acknowledged) {
      Object.assign(alert, { acknowledged: true, ackedAt: now, ackedBy: by, updatedAt: now });
      events.push(this.emit('acknowledged', alert, now, true));
    }
    if (comment) events.push(...this.comment(alert, by, comment, now));
    return events;
  }

  comment(alert: Alert, by: string, text: string, now: number): LifecycleEvent[] {
    alert.comments = [...alert.comments, { at: now, by, text }];
    alert.updatedAt = now;
    return [this.emit('commented', alert, now, true)];
  }

  shelve(alert: Alert, mode: 'one-shot' | 'timed', until: number | null, by: string, now: number): LifecycleEvent[] {
    if (alert.state !== 'active') throw new IngestError('INGEST_ERR_ALERT_STATE', `alert ${alert.id} is cleared; only active alerts can be shelved`);
    alert.shelved = { mode, until: mode === 'timed' ? until : null, at: now, by };
    alert.updatedAt = now;
    if (mode === 'timed') this.shelvedUntil.set(keyString(alert), alert);
    return [this.emit('shelved', alert, now, true)];
  }

  unshelve(alert: Alert, now: number): LifecycleEvent[] {
    if (!alert.shelved) return [];
    alert.shelved = null;
    alert.updatedAt = now;
    return [this.emit('unshelved', alert, now, true)];
  }

  /** The flood summary is the lifecycle's own alert, not a configured rule. */
  private timingOf(c: Condition): RuleTiming {
    return c.rule === FLOOD_RULE ? { enabled: true, group: c.object as AlertGroup, onDelayMs: 0, offDelayMs: 0 } : this.o.timing(c.rule);
  }

  private evaluate(key: string, c: ConditionState, timing: RuleTiming, now: number): LifecycleEvent[] {
    const alert = this.open.get(key);
    if (c.active) {
      if (alert) return this.update(alert, c.last, now);
      return now - c.changedAt >= timing.onDelayMs ? this.raise(key, c, timing, now) : [];
    }
    if (!alert) {
      // Forget an inactive condition only once its transitions are older than the chatter window.
      if (c.transitions.every((t) => t <= now - this.o.chatterWindowMs)) this.conditions.delete(key);
      return [];
    }
    const events: LifecycleEvent[] = [];
    const recentTransitions = c.transitions.filter((t) => t > now - this.o.chatterWindowMs).length;
    if (!alert.chattering && recentTransitions >= this.o.chatterTransitions) {
      alert.chattering = true;
      events.push(this.emit('updated', alert, now, alert.announced && !alert.shelved && alert.causeId === null));
    }
    const hold = Math.max(timing.offDelayMs, alert.chattering ? this.o.chatterWindowMs : 0);
    if (now - c.changedAt >= hold) events.push(...this.clear(key, alert, now));
    return events;
  }

  private raise(key: string, c: ConditionState, timing: RuleTiming, now: number): LifecycleEvent[] {
    const cond = c.last;
    const reopened = this.recent.get(key);
    const transitions = c.transitions.filter((t) => t > now - this.o.chatterWindowMs).length;
    const base = {
      message: cond.message, value: cond.value ?? null, detail: cond.detail ?? NO_DETAIL, severity: cond.severity, updatedAt: now, state: 'active' as const, clearedAt: null,
      observedAt: cond.observedAt ?? null, causeId: null, symptoms: 0, announced: false,
    };
    let alert: Alert;
    if (reopened) {
      this.recent.delete(key);
      alert = Object.assign(reopened, base, { transitions: reopened.transitions + 1, chattering: reopened.chattering || transitions >= this.o.chatterTransitions, acknowledged: false, ackedAt: null, ackedBy: null });
    } else {
      alert = {
        id: randomUUID(), deviceId: cond.deviceId, rule: cond.rule, object: cond.object, deviceType: cond.deviceType, group: timing.group, ...base,
        raisedAt: now, acknowledged: false, ackedAt: null, ackedBy: null, comments: NONE as never[], shelved: null, chattering: false, transitions: 1, flooded: false,
      };
    }
    this.open.set(key, alert);
    // Reopened within the chatter window, still shelved until a time: that time still ends it.
    if (alert.shelved?.mode === 'timed') this.shelvedUntil.set(key, alert);
    const events: LifecycleEvent[] = [];
    const cause = alert.rule === FLOOD_RULE ? undefined : this.o.correlation?.causeOf(alert, (k) => this.open.get(keyString(k)));
    if (cause) {
      // A symptom: grouped under its cause, not announced on its own (nor counted as a flood).
      alert.causeId = cause.id;
      cause.symptoms++;
      cause.updatedAt = now;
      events.push(this.emit('updated', cause, now, true));
    } else {
      events.push(...this.announceOrSummarise(alert, now));
    }
    // Reopened while still shelved until a time (the chatter window): kept quiet, as the operator asked.
    events.unshift(this.emit('raised', alert, now, alert.announced && !alert.shelved));
    if (this.o.correlation?.isRoot(alert.rule)) events.push(...this.adoptSymptoms(alert, now));
    return events;
  }

  /**
   * A new alert that is no symptom is announced, unless its group is flooded: then a low-priority one is
   * counted in the flood summary instead. Major and critical always pass (ISA-18.2: flood handling never
   * hides the highest priorities).
   */
  private announceOrSummarise(alert: Alert, now: number): LifecycleEvent[] {
    const passes = SEVERITY_RANK[alert.severity] >= SEVERITY_RANK.major || this.o.floodPassSeverities.includes(alert.severity);
    if (alert.rule !== FLOOD_RULE && this.flood.recordRaise(alert.group, now) && !passes) {
      alert.flooded = true;
      return this.floodSummary(alert.group, now);
    }
    alert.announced = true;
    return [];
  }

  /** A root cause raised after its symptoms (a district cut noticed at the second site): group them now. */
  private adoptSymptoms(root: Alert, now: number): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    for (const a of this.open.values()) {
      if (a === root || a.causeId !== null || this.o.correlation?.isRoot(a.rule)) continue;
      if (this.o.correlation?.causeOf(a, (k) => this.open.get(keyString(k))) !== root) continue;
      a.causeId = root.id;
      a.updatedAt = now;
      root.symptoms++;
      events.push(this.emit('updated', a, now, true));
    }
    if (events.length > 0) events.push(this.emit('updated', root, now, true));
    return events;
  }

  /**
   * The cause cleared: each symptom still open follows another active cause if it has one, or is announced
   * on its own now (it is no longer explained).
   */
  private releaseSymptoms(root: Alert, now: number): LifecycleEvent[] {
    const events: LifecycleEvent[] = [];
    for (const a of this.open.values()) {
      if (a.causeId !== root.id) continue;
      const next = this.o.correlation?.causeOf(a, (k) => this.open.get(keyString(k)));
      a.updatedAt = now;
      if (next) {
        a.causeId = next.id;
        next.symptoms++;
        events.push(this.emit('updated', a, now, true), this.emit('updated', next, now, true));
        continue;
      }
      a.causeId = null;
      const summary = this.announceOrSummarise(a, now);
      events.push(this.emit('raised', a, now, a.announced && !a.shelved), ...summary);
    }
    root.symptoms = 0;
    return events;
  }

  private update(alert: Alert, cond: Condition, now: number): LifecycleEvent[] {
    const escalated = SEVERITY_RANK[cond.severity] > SEVERITY_RANK[alert.severity];
    // X.733 notifies on severity changes; new values and texts (time to dark counting down) are saved
    // and listed, but not pushed: they are not news.
    const news = cond.severity !== alert.severity;
    if (!news && cond.message === alert.message && (cond.value ?? null) === alert.value) return [];
    Object.assign(alert, { severity: cond.severity, message: cond.message, value: cond.value ?? null, detail: cond.detail ?? alert.detail, updatedAt: now });
    // ISA-18.2: an escalation needs a fresh acknowledgement, and says what it was observed on.
    if (escalated) Object.assign(alert, { acknowledged: false, ackedAt: null, ackedBy: null, observedAt: cond.observedAt ?? alert.observedAt });
    // An escalation to major or critical is always announced, flood or not (ISA-18.2); a shelved alert
    // stays quiet (the operator's choice) and a symptom stays grouped under its active cause.
    const grouped = alert.causeId !== null;
    const highEscalation = escalated && SEVERITY_RANK[cond.severity] >= SEVERITY_RANK.major;
    const notify = news && alert.shelved === null && !grouped && (highEscalation || !alert.flooded);
    if (notify) alert.announced = true;
    return [{ ...this.emit(escalated ? 'escalated' : 'updated', alert, now, notify), lazy: !news }];
  }

  private clear(key: string, alert: Alert, now: number): LifecycleEvent[] {
    // Whoever heard of the alert hears of its clear (flood or not); a shelved one stays quiet.
    const notify = alert.announced && !alert.shelved;
    Object.assign(alert, { state: 'cleared', clearedAt: now, updatedAt: now });
    // One-shot shelving ends when the alert returns to normal.
    if (alert.shelved?.mode === 'one-shot') alert.shelved = null;
    this.open.delete(key);
    this.recent.set(key, alert);
    const events = [this.emit('cleared', alert, now, notify)];
    const cause = alert.causeId === null ? undefined : [...this.open.values()].find((a) => a.id === alert.causeId);
    if (cause) {
      cause.symptoms = Math.max(0, cause.symptoms - 1);
      cause.updatedAt = now;
      events.push({ ...this.emit('updated', cause, now, true), lazy: true });
    }
    if (alert.symptoms > 0) events.push(...this.releaseSymptoms(alert, now));
    return events;
  }

  private floodSummary(group: AlertGroup, now: number): LifecycleEvent[] {
    const count = this.flood.countInWindow(group, now);
    const cond: Condition = {
      deviceId: FLOOD_SOURCE, rule: FLOOD_RULE, object: group, active: true, severity: 'major', deviceType: null, value: count,
      message: `alert flood: ${count} new ${GROUP_NAMES[group]} alerts in ${Math.round(this.o.floodWindowMs / 60_000)} min; minor ones are listed under Alerts instead of announced one by one (major and critical are still announced)`,
    };
    const key = keyString(cond);
    const existing = this.open.get(key);
    this.conditions.set(key, { last: cond, active: true, changedAt: now, transitions: NONE });
    if (!existing) return this.raise(key, this.conditions.get(key)!, this.timingOf(cond), now);
    Object.assign(existing, { value: count, message: cond.message, updatedAt: now });
    // Tell the console again only every `floodAlerts` more alerts, not for each one.
    return [this.emit('updated', existing, now, count % this.o.floodAlerts === 0)];
  }

  private emit(kind: AlertEventKind, alert: Alert, at: number, notify: boolean): LifecycleEvent {
    // A snapshot: the alert goes on changing, the event must say what it was.
    return { kind, at, alert: structuredClone(alert), notify };
  }
}

/** Two active reports of one condition that say the same (a `detail` object counts as new unless it is the same object). */
function sameReport(a: Condition, b: Condition): boolean {
  return a.active && a.severity === b.severity && a.message === b.message && (a.value ?? null) === (b.value ?? null) && a.detail === b.detail && a.observedAt === b.observedAt && a.deviceType === b.deviceType;
}
