import { writeFileSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { mosquittoConf, mosquittoPasswordLine } from '@tsunagaru/broker';
import { spawnMosquitto, type RunningMosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dir.js';

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
  return spawnMosquitto(confPath, port, dir);
}
