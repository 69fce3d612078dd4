/**
 * Load generators run as child processes (their own event loop and CPU, measured apart from the
 * broker and from this runner). They speak JSON messages over the IPC channel: the parent sends a
 * command with a `type`, the child answers with `{ type: '<command>:done', … }` or `{ type: 'error' }`.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerMessage {
  type: string;
  [key: string]: unknown;
}

export interface Worker {
  pid: number;
  /** Sends a command and waits for its `:done` answer (or the child's error, or its exit). */
  request<T = WorkerMessage>(message: WorkerMessage, timeoutMs?: number): Promise<T>;
  /** Sends a message without waiting for its answer (e.g. flow-control credit). */
  notify(message: WorkerMessage): void;
  stop(): Promise<void>;
}

export async function startWorker(modulePath: string, name: string): Promise<Worker> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', modulePath], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const waiting = new Set<(m: WorkerMessage | Error) => void>();
  child.on('message', (m: WorkerMessage) => waiting.forEach((w) => w(m)));
  child.on('exit', (code, signal) => waiting.forEach((w) => w(new Error(`${name} exited (${code ?? signal}): ${stderr.trim()}`))));
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });

  return {
    pid: child.pid!,
    request<T = WorkerMessage>(message: WorkerMessage, timeoutMs = 120_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`${name}: no answer to ${message.type} in ${timeoutMs} ms`)), timeoutMs);
        const finish = (m: WorkerMessage | Error): void => {
          if (!(m instanceof Error) && m.type !== `${message.type}:done` && m.type !== 'error') return;
          clearTimeout(timer);
          waiting.delete(finish);
          if (m instanceof Error) reject(m);
          else if (m.type === 'error') reject(new Error(`${name}: ${String(m.message)}`));
          else resolve(m as T);
        };
        waiting.add(finish);
        if (child.exitCode !== null) return finish(new Error(`${name} has exited: ${stderr.trim()}`));
        child.send(message);
      });
    },
    notify(message: WorkerMessage): void {
      if (child.connected) child.send(message);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child's side: answers each command with the handler's result, errors as `{ type: 'error' }`. */
export function serveWorker(handlers: Record<string, (message: WorkerMessage) => Promise<Record<string, unknown>>>): void {
  process.on('message', (m: WorkerMessage) => {
    const handler = handlers[m.type];
    if (!handler) return void process.send?.({ type: 'error', message: `unknown command ${m.type}` });
    if (m.type === 'credit') return void handler(m); // notifications get no answer
    handler(m).then(
      (result) => process.send?.({ ...result, type: `${m.type}:done` }),
      (err: unknown) => process.send?.({ type: 'error', message: (err as Error)?.stack ?? String(err) }),
    );
  });
  // The parent going away must not leave a load generator running.
  process.on('disconnect', () => process.exit(0));
}
