/** Resource use of another process, read from /proc (Linux): what a broker costs while it works. */
import { readFileSync } from 'node:fs';

/** Resident set size in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb);
}

/** User + system CPU seconds the process has used so far (clock ticks are 1/100 s on Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU use of several processes over an interval, as a fraction of one core each. */
export class CpuMeter {
  private readonly start = new Map<string, number>();
  private readonly t0 = performance.now();

  constructor(private readonly pids: Record<string, number>) {
    for (const [name, pid] of Object.entries(pids)) this.start.set(name, cpuSeconds(pid));
  }

  /** e.g. { broker: 0.98, publishers: 0.41 } */
  read(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        out[name] = (cpuSeconds(pid) - this.start.get(name)!) / seconds;
      } catch {
        out[name] = NaN; // the process has gone
      }
    }
    return out;
  }
}

export function formatCpu(usage: Record<string, number>): string {
  return Object.entries(usage)
    .map(([name, frac]) => `${name} ${Math.round(frac * 100)} %`)
    .join(', ');
}

/**
 * A warning when a load process (not the broker) used most of a core: then it, not the broker, may
 * have set the pace, and the figure is a lower bound for that broker.
 */
export function loadBoundWarning(usage: Record<string, number>, brokerKey = 'broker', threshold = 0.85): string | undefined {
  const busy = Object.entries(usage).filter(([name, frac]) => name !== brokerKey && frac >= threshold);
  return busy.length ? `**${busy.map(([n, f]) => `${n} at ${Math.round(f * 100)} %`).join(', ')} of a core: possibly load-bound, a lower bound**` : undefined;
}
