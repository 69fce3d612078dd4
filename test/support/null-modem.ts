import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Two serial device paths joined like a null-modem cable (test/support/null-modem.py), for Modbus RTU tests. */
export interface NullModem {
  a: string;
  b: string;
  close(): void;
}

export function python3Available(): boolean {
  return spawnSync('python3', ['--version']).status === 0;
}

export async function startNullModem(): Promise<NullModem> {
  const child: ChildProcess = spawn('python3', [join(import.meta.dirname, 'null-modem.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const [a, b] = await new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`null-modem.py exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim().split(' '));
    });
  });
  return { a: a!, b: b!, close: () => child.kill() };
}
