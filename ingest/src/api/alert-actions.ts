import { IngestError } from '../errors.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { LifecycleEvent } from '../alerts/lifecycle.js';
import type { Alert } from '../alerts/types.js';

/**
 * Operator actions on alerts (API). They run in the engine's queue, in order with the rules, on the live
 * alert when it is open or recently cleared, else on the stored one (e.g. acknowledging an old clear).
 */
async function withAlert(engine: AlertEngine, id: string, change: (alert: Alert, now: number) => LifecycleEvent[]): Promise<Alert> {
  return engine.act(async (now) => {
    const alert = engine.lifecycle.find(id) ?? (await engine.store.get(id));
    if (!alert) throw new IngestError('INGEST_ERR_NOT_FOUND', `alert "${id}" does not exist`);
    const events = change(alert, now);
    return { result: structuredClone(alert), events };
  });
}

export function acknowledgeAlert(engine: AlertEngine, id: string, by: string, comment?: string): Promise<Alert> {
  return withAlert(engine, id, (a, now) => engine.lifecycle.acknowledge(a, by, comment, now));
}

export function commentAlert(engine: AlertEngine, id: string, by: string, text: string): Promise<Alert> {
  return withAlert(engine, id, (a, now) => engine.lifecycle.comment(a, by, text, now));
}

export interface ShelveRequest {
  mode: 'one-shot' | 'timed';
  /** Timed shelving: for this long. */
  minutes?: number;
  by: string;
  comment?: string;
}

export function shelveAlert(engine: AlertEngine, id: string, req: ShelveRequest): Promise<Alert> {
  if (req.mode === 'timed' && !(req.minutes && req.minutes > 0)) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'body.minutes: required (> 0) for timed shelving');
  return withAlert(engine, id, (a, now) => {
    // A cleared alert held in the store cannot be shelved; the live one is the one that matters.
    if (!engine.lifecycle.find(id)) throw new IngestError('INGEST_ERR_ALERT_STATE', `alert "${id}" is cleared; only active alerts can be shelved`);
    const events = engine.lifecycle.shelve(a, req.mode, req.mode === 'timed' ? now + req.minutes! * 60_000 : null, req.by, now);
    return req.comment ? [...events, ...engine.lifecycle.comment(a, req.by, req.comment, now)] : events;
  });
}

export function unshelveAlert(engine: AlertEngine, id: string): Promise<Alert> {
  return withAlert(engine, id, (a, now) => engine.lifecycle.unshelve(a, now));
}
