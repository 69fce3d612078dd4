import { writeMosquittoConfig, type MosquittoCredential } from '@tsunagaru/broker';
import { MOSQUITTO_BIN } from './mosquitto.js';
import { managedServer, type ManagedServer } from './managed-server.js';
import { freePort, portOpen } from './ports.js';
import { makeTempDir } from './temp-dir.js';

/** SIGTERM on stop lets mosquitto save its persistence file; start resumes from it. */
export type RestartableMosquitto = ManagedServer;

/** Debian's mosquitto with persistence on, which can be restarted in place (broker-restart fault test). */
export async function startRestartableMosquitto(credentials: MosquittoCredential[]): Promise<RestartableMosquitto> {
  const dir = makeTempDir('mosquitto-r');
  const port = await freePort();
  const files = await writeMosquittoConfig({ dir: dir.path, port, credentials });
  const broker = managedServer('mosquitto', MOSQUITTO_BIN, ['-c', files.confPath], `mqtt://127.0.0.1:${port}`, () => portOpen(port), () => dir.remove());
  await broker.start();
  return broker;
}
