import type { LastSeen, LastSeenSource } from './rules/device-status.js';

/** A clock-driven rule's word on a device: its verdict may change at `at` (epoch ms), so judge it again then. */
export type WakeAt = (deviceId: string, at: number) => void;

/** The registry's change feed: a device id, or null for "anything may have changed" (a reload). */
export interface DeviceChanges {
  onChange?(listener: (deviceId: string | null) => void): () => void;
}

/** The devices one evaluation judges, and every device's last message for the rules that look one up. */
export interface Judgement {
  devices: readonly LastSeen[];
  heard(deviceId: string): LastSeen | undefined;
  /** True when every device is judged (the first evaluation, a reload, a source that cannot say what changed). */
  everything: boolean;
}

/**
 * Which devices the clock-driven rules (silence, welfare silence) judge at an evaluation. Judging all of
 * them every 5 s was, with 130,000 meters, ~300 ms of blocked event loop each time, and the API's answers
 * waited behind it (device detail p99 at 30 days of history, bench `history`). A device's verdict changes
 * only when something about it changes (a message, its status, its attributes) or when its time comes,
 * and the rules say when that is (the silence limit, the next step of "silent for …"). So an evaluation
 * judges the devices changed since the last one and those due by now: all of them at the first, after a
 * registry reload, and at every evaluation when the last-seen source cannot say what changed.
 */
export class DueDevices {
  private readonly last = new Map<string, LastSeen>();
  private changed = new Set<string>();
  private everything = true;
  /** The earliest time each device asked to be judged again, since it was last judged. */
  private readonly wakes = new Map<string, number>();
  private readonly queue = new WakeQueue();
  private readonly stops: Array<() => void> = [];

  constructor(
    private readonly source: LastSeenSource,
    devices: DeviceChanges = {},
  ) {
    const heard = source.onChange?.((d) => {
      this.last.set(d.deviceId, d);
      this.changed.add(d.deviceId);
    });
    if (heard) this.stops.push(heard);
    const registry = devices.onChange?.((id) => (id === null ? (this.everything = true) : this.changed.add(id)));
    if (registry) this.stops.push(registry);
  }

  /** The devices to judge at `now`. Each one judged drops its earlier wake: the rules say anew when to come back. */
  async take(now: number): Promise<Judgement> {
    const last = this.last;
    const heard = (id: string) => last.get(id);
    if (this.everything || !this.source.onChange) {
      this.everything = false;
      // Changes heard while the list loads are newer than it: kept, and judged with it.
      const during = (this.changed = new Set());
      const all = await this.source.list();
      for (const d of all) if (!during.has(d.deviceId)) last.set(d.deviceId, d);
      this.changed = new Set();
      this.wakes.clear();
      this.queue.clear();
      return { devices: [...last.values()], heard, everything: true };
    }
    const ids = this.changed;
    this.changed = new Set();
    for (let top = this.queue.peek(); top !== undefined && top.at <= now; top = this.queue.peek()) {
      this.queue.pop();
      if (this.wakes.get(top.deviceId) === top.at) ids.add(top.deviceId);
    }
    const devices: LastSeen[] = [];
    for (const id of ids) {
      this.wakes.delete(id);
      const d = last.get(id);
      if (d) devices.push(d);
    }
    // Superseded wakes stay queued until their time; a queue much larger than the devices waiting is rebuilt.
    if (this.queue.size > 2 * this.wakes.size + 1024) this.queue.rebuild(this.wakes);
    return { devices, heard, everything: false };
  }

  /** The rules' WakeAt: the earliest asked since the device was last judged wins. */
  readonly wake: WakeAt = (deviceId, at) => {
    // A source that cannot say what changed has every device judged at every evaluation anyway.
    if (!this.source.onChange) return;
    const asked = this.wakes.get(deviceId);
    if (asked !== undefined && asked <= at) return;
    this.wakes.set(deviceId, at);
    this.queue.push(at, deviceId);
  };

  /** A message from the device reached the rules: judge it at the next evaluation, whatever its status says. */
  touch(deviceId: string): void {
    this.changed.add(deviceId);
  }

  /** Devices waiting for their time (tests, health). */
  get waiting(): number {
    return this.wakes.size;
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop();
  }
}

/** A binary min-heap of (time, device), times in a typed array so 100,000s of waits stay small. */
class WakeQueue {
  private at = new Float64Array(1024);
  private ids: string[] = [];

  get size(): number {
    return this.ids.length;
  }

  peek(): { at: number; deviceId: string } | undefined {
    return this.ids.length === 0 ? undefined : { at: this.at[0]!, deviceId: this.ids[0]! };
  }

  push(at: number, deviceId: string): void {
    let i = this.ids.length;
    if (i === this.at.length) {
      const grown = new Float64Array(this.at.length * 2);
      grown.set(this.at);
      this.at = grown;
    }
    this.ids.push(deviceId);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= at) break;
      this.at[i] = this.at[p]!;
      this.ids[i] = this.ids[p]!;
      i = p;
    }
    this.at[i] = at;
    this.ids[i] = deviceId;
  }

  pop(): void {
    const n = this.ids.length - 1;
    if (n < 0) return;
    const at = this.at[n]!;
    const id = this.ids[n]!;
    this.ids.pop();
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && this.at[l + 1]! < this.at[l]! ? l + 1 : l;
      if (this.at[c]! >= at) break;
      this.at[i] = this.at[c]!;
      this.ids[i] = this.ids[c]!;
      i = c;
    }
    this.at[i] = at;
    this.ids[i] = id;
  }

  clear(): void {
    this.ids = [];
    this.at = new Float64Array(1024);
  }

  rebuild(wakes: ReadonlyMap<string, number>): void {
    this.clear();
    for (const [id, at] of wakes) this.push(at, id);
  }
}
