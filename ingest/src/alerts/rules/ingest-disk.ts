import type { RuleContext } from './context.js';

/** Why the ingest's journal takes no messages (journal.ts Refusal), as the rules need it. */
export interface IngestRefusal {
  reason: 'disk-space-low' | 'write-failed';
  /** Already in the operator's words: what happened and what happens to the devices' readings. */
  message: string;
  freeBytes: number | null;
  minFreeBytes: number;
}

/** The managed object of the ingest's own alerts (X.733: a virtual object, like the ring's name). */
export const INGEST_OBJECT = 'tsunagaru-ingest';

const RULES = { 'disk-space-low': 'disk-space-low', 'write-failed': 'journal-write-failed' } as const;

/**
 * Reported when the journal stops or resumes taking messages (and once at start, so an alert left open by
 * the last run clears when the disk is fine now). Each reason has its own rule; the one not in force clears.
 */
export function evaluateIngestDisk(ctx: RuleContext, refusal: IngestRefusal | null): void {
  for (const [reason, rule] of Object.entries(RULES)) {
    const active = refusal?.reason === reason;
    ctx.report({
      deviceId: INGEST_OBJECT, rule, object: null, active, severity: ctx.config.rules[rule].severity, deviceType: null,
      message: active ? refusal!.message : '',
      value: active && refusal!.freeBytes !== null ? Math.round(refusal!.freeBytes / (1024 * 1024)) : null,
      ...(active ? { detail: { freeMB: refusal!.freeBytes === null ? null : Math.round(refusal!.freeBytes / (1024 * 1024)), reserveMB: Math.round(refusal!.minFreeBytes / (1024 * 1024)) } } : {}),
    });
  }
}
