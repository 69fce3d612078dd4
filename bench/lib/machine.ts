/** What the numbers were measured on, so a reader can tell a laptop run from a quiet server. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** Version line of each peer program, undefined when it is not installed. */
  peers: Record<string, string | undefined>;
  /** 1, 5 and 15 minute load average, taken before any suite starts. */
  loadAverage: number[];
  openFilesLimit: number | undefined;
}

/** First line of a program's version output (some print it on stderr, some exit non-zero). */
function versionOf(bin: string, args: string[], pattern: RegExp): string | undefined {
  let out: string;
  try {
    out = execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') return undefined;
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  return pattern.exec(out)?.[1] ?? (out.split('\n')[0]?.trim() || undefined);
}

function openFilesLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    return soft ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

export function probeMachine(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: `${release()}`,
    node: process.version,
    peers: {
      mosquitto: versionOf(process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto', ['-h'], /mosquitto version (\S+)/),
      influxd: versionOf('influxd', ['version'], /(v?\d+\.\d+\.\d+\S*)/),
      'redis-server': versionOf('redis-server', ['--version'], /v=(\S+)/),
    },
    loadAverage: loadavg(),
    openFilesLimit: openFilesLimit(),
  };
}
