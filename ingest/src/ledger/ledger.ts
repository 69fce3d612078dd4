/**
 * Completeness ledger: per device and boot, which `seq` numbers arrived (contract v1 "Envelope": seq is
 * +1 per Telemetry or Event message, so a hole is a message lost somewhere between sensor and store).
 * Kept in memory as range sets (a boot received in order is one range), persisted incrementally: only
 * boots that changed since the last persist are written.
 */
import { RangeSet, type Range } from './range-set.js';

export interface BootRecord {
  deviceId: string;
  boot: number;
  ranges: Range[];
  /** Messages received again after they were stored (redeliveries), not counting the ingest's own replays. */
  duplicates: number;
  /** Epoch ms the ingest received the latest message of this boot. */
  lastReceivedAt: number;
}

export interface BootReport {
  boot: number;
  received: number;
  ranges: Range[];
  gaps: Range[];
  missing: number;
  duplicates: number;
  lastMessageAt: number;
  highestSeq: number | null;
}

export interface DeviceSummary {
  deviceId: string;
  boots: number;
  received: number;
  gaps: number;
  missing: number;
  duplicates: number;
  /**
   * When the ledger last counted one of its readings: it says which boot is the latest. When the device
   * was last heard at all (births and deaths too) is its status' `lastSeen`, the one source of "last seen".
   */
  lastMessageAt: number;
  /** Boot of the latest message. */
  latestBoot: number;
}

interface BootState {
  seqs: RangeSet;
  duplicates: number;
  lastReceivedAt: number;
}

export class CompletenessLedger {
  private readonly devices = new Map<string, Map<number, BootState>>();
  private readonly dirty = new Map<string, Set<number>>();

  constructor(records: readonly BootRecord[] = []) {
    for (const r of records) this.boots(r.deviceId).set(r.boot, { seqs: new RangeSet(r.ranges), duplicates: r.duplicates, lastReceivedAt: r.lastReceivedAt });
  }

  private boots(deviceId: string): Map<number, BootState> {
    let b = this.devices.get(deviceId);
    if (!b) this.devices.set(deviceId, (b = new Map()));
    return b;
  }

  has(deviceId: string, boot: number, seq: number): boolean {
    return this.devices.get(deviceId)?.get(boot)?.seqs.has(seq) ?? false;
  }

  /**
   * Notes that (deviceId, boot, seq) is stored. Returns false if it was already known; it then counts as a
   * duplicate unless `countDuplicate` is false (the ingest's own replay of its journal after a restart).
   */
  record(deviceId: string, boot: number, seq: number, receivedAt: number, countDuplicate = true): boolean {
    const boots = this.boots(deviceId);
    let b = boots.get(boot);
    if (!b) boots.set(boot, (b = { seqs: new RangeSet(), duplicates: 0, lastReceivedAt: receivedAt }));
    const added = b.seqs.add(seq);
    if (!added && countDuplicate) b.duplicates++;
    if (added || countDuplicate) b.lastReceivedAt = Math.max(b.lastReceivedAt, receivedAt);
    let d = this.dirty.get(deviceId);
    if (!d) this.dirty.set(deviceId, (d = new Set()));
    d.add(boot);
    return added;
  }

  /** Boots changed since the last call, as records to persist. */
  takeDirty(): BootRecord[] {
    const out: BootRecord[] = [];
    for (const [deviceId, boots] of this.dirty) {
      for (const boot of boots) {
        const b = this.devices.get(deviceId)!.get(boot)!;
        out.push({ deviceId, boot, ranges: b.seqs.toArray(), duplicates: b.duplicates, lastReceivedAt: b.lastReceivedAt });
      }
    }
    this.dirty.clear();
    return out;
  }

  /** Puts records back as dirty when persisting them failed. */
  markDirty(records: readonly BootRecord[]): void {
    for (const r of records) {
      let d = this.dirty.get(r.deviceId);
      if (!d) this.dirty.set(r.deviceId, (d = new Set()));
      d.add(r.boot);
    }
  }

  device(deviceId: string): BootReport[] | undefined {
    const boots = this.devices.get(deviceId);
    if (!boots) return undefined;
    return [...boots.entries()]
      .sort(([a], [b]) => a - b)
      .map(([boot, b]) => {
        const gaps = b.seqs.gaps();
        return {
          boot,
          received: b.seqs.size,
          ranges: b.seqs.toArray(),
          gaps,
          missing: gaps.reduce((n, [from, to]) => n + to - from + 1, 0),
          duplicates: b.duplicates,
          lastMessageAt: b.lastReceivedAt,
          highestSeq: b.seqs.max ?? null,
        };
      });
  }

  summary(): DeviceSummary[] {
    return [...this.devices.keys()].sort().map((deviceId) => {
      const boots = this.device(deviceId)!;
      const latest = boots.reduce((a, b) => (b.lastMessageAt >= a.lastMessageAt ? b : a));
      return {
        deviceId,
        boots: boots.length,
        received: boots.reduce((n, b) => n + b.received, 0),
        gaps: boots.reduce((n, b) => n + b.gaps.length, 0),
        missing: boots.reduce((n, b) => n + b.missing, 0),
        duplicates: boots.reduce((n, b) => n + b.duplicates, 0),
        lastMessageAt: latest.lastMessageAt,
        latestBoot: latest.boot,
      };
    });
  }
}
