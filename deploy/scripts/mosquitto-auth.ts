/**
 * Writes the mosquitto `passwd` and `acl` files the compose `mosquitto` profile mounts
 * (deploy/mosquitto/auth/), from our device registry. Run inside the compose network, so it reads the
 * registry volume the ingest writes:
 *
 *   docker compose --profile mosquitto run --rm --no-deps -v "$PWD/deploy/mosquitto/auth:/auth" \
 *     ingest-console npx tsx deploy/scripts/mosquitto-auth.ts --out /auth [--secrets /auth/new-secrets.json]
 *   docker compose --profile mosquitto kill -s SIGHUP mosquitto     # mosquitto re-reads both files
 *
 * The registry keeps only scrypt hashes, and mosquitto wants PBKDF2 of the plain secret, so a device's
 * password line can only be made while its secret is known: at provisioning or rotation (the API and
 * `npm run devices` print it once). `--secrets` is a JSON object `{ "<device id>": "<secret>" }` of those
 * new secrets; each is checked against the registry's hash before it is written. Lines of devices that
 * are still enabled are kept from the previous passwd; disabled, revoked and deleted devices lose theirs,
 * so a revocation reaches mosquitto at the next run + SIGHUP. The ingest account (MQTT_USERNAME,
 * MQTT_PASSWORD) is always written: it is the one the ingest workers log in with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileDeviceRegistry, mosquittoAcl, mosquittoPasswordLine, registryPathFor, verifySecret, type DeviceRecord, type MosquittoCredential } from '@tsunagaru/broker';
import { parseArgs, runCli, UsageError } from '../../scripts/cli-support.js';

export interface MosquittoAuthOptions {
  /** The registry's JSON Lines file (`registryPathFor(DATA_DIR)`); a missing file means no devices yet. */
  registryPath: string;
  /** Directory that receives `passwd` and `acl`; an existing `passwd` there supplies the kept lines. */
  outDir: string;
  ingest: { username: string; password: string };
  /** Plain secrets of devices provisioned or rotated since the last run. */
  secrets?: Record<string, string>;
}

export interface MosquittoAuthResult {
  passwordFilePath: string;
  aclFilePath: string;
  /** Enabled devices that have a password line (new or kept). */
  devices: string[];
  /** Enabled devices without one: they cannot log in to mosquitto until their secret is given. */
  withoutSecret: string[];
  /** Devices that are skipped because mosquitto's ACL cannot express their rights (LPWA head-end meters). */
  unsupported: string[];
}

function existingLines(passwdPath: string): Map<string, string> {
  const lines = new Map<string, string>();
  if (!existsSync(passwdPath)) return lines;
  for (const line of readFileSync(passwdPath, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) lines.set(line.slice(0, colon), line);
  }
  return lines;
}

async function listDevices(registryPath: string): Promise<DeviceRecord[]> {
  if (!existsSync(registryPath)) return [];
  const registry = await FileDeviceRegistry.open({ path: registryPath, readOnly: true, watch: false, pollIntervalMs: 0 });
  try {
    return registry.listDevices();
  } finally {
    await registry.close();
  }
}

export async function writeMosquittoAuth(options: MosquittoAuthOptions): Promise<MosquittoAuthResult> {
  const passwordFilePath = join(options.outDir, 'passwd');
  const aclFilePath = join(options.outDir, 'acl');
  const kept = existingLines(passwordFilePath);
  const devices = await listDevices(options.registryPath);
  const secrets = options.secrets ?? {};
  for (const id of Object.keys(secrets)) if (!devices.some((d) => d.id === id)) throw new Error(`--secrets names "${id}", which is not in the registry`);

  const credentials: MosquittoCredential[] = [{ username: options.ingest.username, password: options.ingest.password, role: 'ingest' }];
  const lines: string[] = [await mosquittoPasswordLine(options.ingest.username, options.ingest.password)];
  const result: MosquittoAuthResult = { passwordFilePath, aclFilePath, devices: [], withoutSecret: [], unsupported: [] };
  for (const device of devices) {
    if (device.disabled) continue;
    // A head-end gateway publishes under its meters' prefixes; mosquittoAcl mirrors only a device's own rights.
    if (typeof device.attributes.headEnd === 'string') {
      result.unsupported.push(device.id);
      continue;
    }
    // The ACL needs no password, but mosquittoAcl takes credentials; the placeholder never reaches passwd.
    credentials.push({ username: device.id, password: '-', role: 'device', type: device.type });
    const secret = secrets[device.id];
    if (secret !== undefined) {
      if (!(await verifySecret(secret, device.secretHash))) throw new Error(`the secret given for "${device.id}" is not its current one (rotated since?)`);
      lines.push(await mosquittoPasswordLine(device.id, secret));
    } else if (kept.has(device.id)) {
      lines.push(kept.get(device.id)!);
    } else {
      result.withoutSecret.push(device.id);
      continue;
    }
    result.devices.push(device.id);
  }

  await mkdir(options.outDir, { recursive: true });
  // Readable by mosquitto's own user in the container (uid 1883), which does not own a bind-mounted file.
  // Written beside and renamed in, so a SIGHUP never reads half a file.
  for (const [path, text] of [[passwordFilePath, `${lines.join('\n')}\n`], [aclFilePath, mosquittoAcl(credentials)]] as const) {
    await writeFile(`${path}.tmp`, text, { mode: 0o644 });
    await chmod(`${path}.tmp`, 0o644);
    await rename(`${path}.tmp`, path);
  }
  return result;
}

const USAGE = `usage: npx tsx deploy/scripts/mosquitto-auth.ts [--out <dir>] [--secrets <file.json>]
  --out      where passwd and acl go (default deploy/mosquitto/auth)
  --secrets  JSON {"<device id>": "<secret>"} of devices provisioned or rotated since the last run
environment: DATA_DIR (the registry, default ./data), MQTT_USERNAME (default tsunagaru-ingest), MQTT_PASSWORD (required)`;

async function main(): Promise<void> {
  const { flags } = parseArgs(process.argv.slice(2));
  const password = process.env.MQTT_PASSWORD;
  if (!password) throw new UsageError('MQTT_PASSWORD (the ingest workers\' MQTT password) is required');
  const secretsFile = flags.get('secrets')?.at(-1);
  const secrets = secretsFile ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>) : undefined;
  const result = await writeMosquittoAuth({
    registryPath: registryPathFor(resolve(process.env.DATA_DIR || './data')),
    outDir: resolve(flags.get('out')?.at(-1) ?? 'deploy/mosquitto/auth'),
    ingest: { username: process.env.MQTT_USERNAME || 'tsunagaru-ingest', password },
    ...(secrets ? { secrets } : {}),
  });
  process.stdout.write(`wrote ${result.passwordFilePath} and ${result.aclFilePath}: the ingest account and ${result.devices.length} devices\n`);
  if (result.withoutSecret.length) process.stdout.write(`no secret known (cannot log in to mosquitto; pass --secrets after a rotate): ${result.withoutSecret.join(', ')}\n`);
  if (result.unsupported.length) process.stdout.write(`skipped, mosquitto's ACL cannot express LPWA head-end rights (use the aedes broker): ${result.unsupported.join(', ')}\n`);
  process.stdout.write('then: docker compose --profile mosquitto kill -s SIGHUP mosquitto\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli('mosquitto-auth', USAGE, main);
