import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { mosquittoConf, mosquittoPasswordLine } from '@tsunagaru/broker';
import { MOSQUITTO_BIN, type RunningMosquitto } from './mosquitto.js';
import { freePort, portOpen } from './ports.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/**
 * Debian's mosquitto with users and a hand-written ACL file (mosquitto's own `user` / `topic read|write`
 * lines): a third-party system's broker, e.g. the one a ChirpStack installation ships with.
 */
export async function startMosquittoWithAcl(users: Array<{ username: string; password: string }>, acl: string): Promise<RunningMosquitto> {
  const dir = makeTempDir('mosquitto-acl');
  const port = await freePort();
  const passwordFilePath = join(dir.path, 'passwd');
  const aclFilePath = join(dir.path, 'acl');
  const persistenceDir = join(dir.path, 'persistence');
  mkdirSync(persistenceDir, { recursive: true });
  writeFileSync(passwordFilePath, `${(await Promise.all(users.map((u) => mosquittoPasswordLine(u.username, u.password)))).join('\n')}\n`, { mode: 0o600 });
  writeFileSync(aclFilePath, acl, { mode: 0o600 });
  const confPath = join(dir.path, 'mosquitto.conf');
  writeFileSync(confPath, mosquittoConf({ port, host: '127.0.0.1', passwordFilePath, aclFilePath, persistenceDir, runAsUser: userInfo().username, maxPayloadBytes: 65536 }));
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(`mosquitto to listen on ${port}`, () => (child.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${out}`)) : portOpen(port)), 10_000);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      dir.remove();
    },
  };
}
