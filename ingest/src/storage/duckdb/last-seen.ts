/**
 * When each device was last heard, kept in memory beside device status so the alert engine's clock does
 * not read the whole table every evaluation: with 130,000 meters that was 130,000 rows turned into
 * JavaScript objects every 5 s, most of a core and hundreds of MB of heap churn.
 *
 * The operations store is the only writer of device status; it tells this index what each write made of
 * a device once the write has committed, so the index never shows a device heard before its message is
 * stored. The index is read from the table once, on first use. Writes and that read run in one queue, in
 * order: a write committed before the read is in it, one committed after reaches the index after it.
 */
import type { DeviceType } from '@tsunagaru/firmware-contracts';
import type { DeviceStatus } from '../types.js';

/** One device's last message, as the silence rules need it (alerts/rules/device-status.ts LastSeen). */
export interface HeardDevice {
  readonly deviceId: string;
  readonly type: DeviceType;
  /** Receive time of its last message (epoch ms), null if never. */
  readonly lastSeen: number | null;
  /** Sample interval from its birth, s. */
  readonly sampleSec: number | null;
  readonly online: boolean;
}

export class LastSeenIndex {
  private devices: Map<string, HeardDevice> | undefined;
  private loading: Promise<Map<string, HeardDevice>> | undefined;
  private readonly listeners = new Set<(d: HeardDevice) => void>();

  constructor(private readonly load: () => Promise<readonly DeviceStatus[]>) {}

  /** Every device with a status, as of the last committed write. The entries are shared: do not change them. */
  async list(): Promise<HeardDevice[]> {
    const devices = this.devices ?? (await (this.loading ??= this.loadAll()));
    return [...devices.values()];
  }

  /**
   * Tells `listener` of every device whose entry changes from now on, once its write has committed (the
   * alert engine's clock judges only those again, alerts/due-devices.ts). Before the first list() nothing
   * is kept, so nothing is told: the list a listener starts from is read after it subscribed.
   */
  onChange(listener: (d: HeardDevice) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A status write committed: the device's status as it now stands (the row read back). */
  setStatus(s: DeviceStatus): void {
    if (this.devices) this.put(heard(s));
  }

  /** `touchDevices` committed: as its SQL does, last seen moves forward only; a new device is offline. */
  touched(list: ReadonlyArray<{ deviceId: string; type: DeviceType; seenAt: number }>): void {
    const devices = this.devices;
    if (!devices) return;
    for (const t of list) {
      const d = devices.get(t.deviceId);
      if (!d) this.put({ deviceId: t.deviceId, type: t.type, lastSeen: t.seenAt, sampleSec: null, online: false });
      else if (d.lastSeen === null || t.seenAt > d.lastSeen) this.put({ ...d, lastSeen: t.seenAt });
    }
  }

  /** `recordClockSkews` committed: a device it added has a status but was never heard; others are unchanged. */
  known(list: ReadonlyArray<{ deviceId: string; type: DeviceType }>): void {
    const devices = this.devices;
    if (!devices) return;
    for (const t of list) if (!devices.has(t.deviceId)) this.put({ deviceId: t.deviceId, type: t.type, lastSeen: null, sampleSec: null, online: false });
  }

  private put(d: HeardDevice): void {
    this.devices!.set(d.deviceId, d);
    for (const listener of this.listeners) listener(d);
  }

  private async loadAll(): Promise<Map<string, HeardDevice>> {
    try {
      const devices = new Map((await this.load()).map((s) => [s.deviceId, heard(s)]));
      this.devices = devices;
      return devices;
    } finally {
      this.loading = undefined;
    }
  }
}

const heard = (s: DeviceStatus): HeardDevice => ({ deviceId: s.deviceId, type: s.type, lastSeen: s.lastSeen, sampleSec: s.sampleSec, online: s.online });
