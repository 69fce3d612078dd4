/**
 * Writes the mosquitto dynamic security configuration (`dynamic-security.json`: clients, password hashes,
 * roles) the compose `mosquitto` profile mounts (deploy/mosquitto/auth/), from our device registry. Run inside
 * the compose network, so it reads the registry volume the ingest writes:
 *
 *   docker compose --profile mosquitto run --rm --no-deps -v "$PWD/deploy/mosquitto/auth:/auth" \
 *     ingest-console node dist/deploy/scripts/mosquitto-auth.js --out /auth [--secrets /auth/new-secrets.json]
 *
 * (from a checkout: `npx tsx deploy/scripts/mosquitto-auth.ts …`)
 *   docker compose --profile mosquitto restart mosquitto     # mosquitto reads the file at start
 *
 * Dynamic security, not password_file + acl_file: mosquitto 2.0 checks no SUBSCRIBE against an acl_file,
 * so any device could join `$share/ingest/…` and be handed (then denied) its round-robin turn of the
 * workers' feed; the plugin checks every subscription (broker/src/mosquitto-config.ts has the rules).
 *
 * The registry keeps only scrypt hashes, and mosquitto wants PBKDF2 of the plain secret, so a device's
 * client entry can only be made while its secret is known: at provisioning or rotation (the API and
 * `npm run devices` print it once). `--secrets` is a JSON object `{ "<device id>": "<secret>" }` of those
 * new secrets; each is checked against the registry's hash before it is written. Entries of devices that
 * are still enabled are kept from the previous file; disabled, revoked and deleted devices lose theirs,
 * so a revocation reaches mosquitto at the next run + restart. The ingest account (MQTT_USERNAME,
 * MQTT_PASSWORD) is always written: it is the one the ingest workers log in with, with a host application's
 * rights on ChirpStack and Sparkplug topics. Integration principals (POST /api/v1/integrations: a ChirpStack
 * application, a Sparkplug group or edge node) are written like devices, their secret given in `--secrets`
 * under their username once, then kept, with the same rights as on our broker (broker/src/mosquitto-config.ts
 * integrationRights).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BrokerError, FileDeviceRegistry, registryPathFor, verifySecret, writeMosquittoConfig, type DeviceRecord, type MosquittoCredential, type ServiceAccount } from '@tsunagaru/broker';
import { commandHelp, runCli, UsageError, type Cli, type ParsedCommand } from '../../scripts/cli-support.js';

export const DYNAMIC_SECURITY_FILE = 'dynamic-security.json';

export interface MosquittoAuthOptions {
  /** The registry's JSON Lines file (`registryPathFor(DATA_DIR)`); a missing file means no devices yet. */
  registryPath: string;
  /** Directory that receives dynamic-security.json; an existing one there supplies the kept entries. */
  outDir: string;
  ingest: { username: string; password: string };
  /** Plain secrets of devices provisioned or rotated since the last run. */
  secrets?: Record<string, string>;
}

export interface MosquittoAuthResult {
  path: string;
  /** Enabled devices that have a client entry (new or kept). */
  devices: string[];
  /** Integration principals that have a client entry (new or kept). */
  integrations: string[];
  /** Enabled devices without one: they cannot log in to mosquitto until their secret is given. */
  withoutSecret: string[];
  /** Meters behind an LPWA head-end gateway: mosquitto's rules cannot let the gateway publish for them. */
  headEndMeters: string[];
}

/** The password part of a dynamic-security client entry. */
interface StoredPassword {
  salt: string;
  password: string;
  iterations: number;
}
interface DynamicSecurity {
  clients: ({ username: string } & StoredPassword)[];
}

function previousPasswords(path: string): Map<string, StoredPassword> {
  const kept = new Map<string, StoredPassword>();
  if (!existsSync(path)) return kept;
  for (const { username, salt, password, iterations } of (JSON.parse(readFileSync(path, 'utf8')) as DynamicSecurity).clients) kept.set(username, { salt, password, iterations });
  return kept;
}

async function listRegistry(registryPath: string): Promise<{ devices: DeviceRecord[]; integrations: ServiceAccount[] }> {
  if (!existsSync(registryPath)) return { devices: [], integrations: [] };
  const registry = await FileDeviceRegistry.open({ path: registryPath, readOnly: true, watch: false, pollIntervalMs: 0 });
  try {
    return { devices: registry.listDevices(), integrations: registry.listServices().filter((s) => s.role === 'integration' && s.integration !== undefined) };
  } finally {
    await registry.close();
  }
}

/** The plugin JSON for these credentials, as @tsunagaru/broker writes it for its own mosquitto tests. */
async function dynamicSecurityFor(credentials: MosquittoCredential[]): Promise<DynamicSecurity> {
  const scratch = mkdtempSync(join(tmpdir(), 'tsunagaru-mosquitto-auth-'));
  try {
    const files = await writeMosquittoConfig({ dir: scratch, port: 1883, credentials, authorisation: 'dynamic-security' });
    return JSON.parse(readFileSync(files.dynamicSecurityPath!, 'utf8')) as DynamicSecurity;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export async function writeMosquittoAuth(options: MosquittoAuthOptions): Promise<MosquittoAuthResult> {
  const path = join(options.outDir, DYNAMIC_SECURITY_FILE);
  const previous = previousPasswords(path);
  const { devices, integrations } = await listRegistry(options.registryPath);
  const secrets = options.secrets ?? {};
  for (const id of Object.keys(secrets)) if (!devices.some((d) => d.id === id) && !integrations.some((s) => s.username === id)) throw new BrokerError('BROKER_ERR_CONFIG', `--secrets names "${id}", which is not in the registry`);

  const credentials: MosquittoCredential[] = [{ username: options.ingest.username, password: options.ingest.password, role: 'ingest' }];
  const kept = new Map<string, StoredPassword>();
  const result: MosquittoAuthResult = { path, devices: [], integrations: [], withoutSecret: [], headEndMeters: [] };
  for (const device of devices) {
    if (device.disabled) continue;
    if (typeof device.attributes.headEnd === 'string') {
      result.headEndMeters.push(device.id);
      continue;
    }
    const secret = secrets[device.id];
    if (secret !== undefined) {
      if (!(await verifySecret(secret, device.secretHash))) throw new BrokerError('BROKER_ERR_CONFIG', `the secret given for "${device.id}" is not its current one (rotated since?)`);
      credentials.push({ username: device.id, password: secret, role: 'device', type: device.type });
    } else if (previous.has(device.id)) {
      // The placeholder is hashed and then replaced by the stored hash below; it never reaches the file.
      credentials.push({ username: device.id, password: 'kept-from-the-previous-file', role: 'device', type: device.type });
      kept.set(device.id, previous.get(device.id)!);
    } else {
      result.withoutSecret.push(device.id);
      continue;
    }
    result.devices.push(device.id);
  }
  for (const service of integrations) {
    const secret = secrets[service.username];
    if (secret !== undefined) {
      if (!(await verifySecret(secret, service.secretHash))) throw new BrokerError('BROKER_ERR_CONFIG', `the secret given for "${service.username}" is not its current one (rotated since?)`);
      credentials.push({ username: service.username, password: secret, role: 'integration', integration: service.integration! });
    } else if (previous.has(service.username)) {
      credentials.push({ username: service.username, password: 'kept-from-the-previous-file', role: 'integration', integration: service.integration! });
      kept.set(service.username, previous.get(service.username)!);
    } else {
      result.withoutSecret.push(service.username);
      continue;
    }
    result.integrations.push(service.username);
  }
  const config = await dynamicSecurityFor(credentials);
  for (const client of config.clients) Object.assign(client, kept.get(client.username) ?? {});

  await mkdir(options.outDir, { recursive: true });
  // Readable by mosquitto's own user in the container (uid 1883), which does not own a bind-mounted file.
  // Written beside and renamed in, so mosquitto never reads half a file.
  await writeFile(`${path}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  await chmod(`${path}.tmp`, 0o644);
  await rename(`${path}.tmp`, path);
  return result;
}

export const CLI: Cli = {
  name: 'mosquitto-auth',
  invocation: 'node dist/deploy/scripts/mosquitto-auth.js (or npx tsx deploy/scripts/mosquitto-auth.ts)',
  commands: {
    '': {
      args: '',
      arity: 0,
      summary: "writes mosquitto's dynamic-security.json from the device registry",
      options: {
        out: { type: 'string', arg: 'dir', help: 'where dynamic-security.json goes (default deploy/mosquitto/auth)' },
        secrets: { type: 'string', arg: 'file.json', help: 'JSON {"<device id or integration username>": "<secret>"} of devices and integration principals made or rotated since the last run' },
      },
    },
  },
  footer: 'environment: DATA_DIR (the registry, default ./data), MQTT_USERNAME (default tsunagaru-ingest), MQTT_PASSWORD (required)',
};

async function main({ values }: ParsedCommand): Promise<void> {
  const password = process.env.MQTT_PASSWORD;
  if (!password) throw new UsageError("MQTT_PASSWORD (the ingest workers' MQTT password) is required", commandHelp(CLI, ''));
  const secretsFile = values.secrets as string | undefined;
  const secrets = secretsFile ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>) : undefined;
  const result = await writeMosquittoAuth({
    registryPath: registryPathFor(resolve(process.env.DATA_DIR || './data')),
    outDir: resolve((values.out as string | undefined) ?? 'deploy/mosquitto/auth'),
    ingest: { username: process.env.MQTT_USERNAME || 'tsunagaru-ingest', password },
    ...(secrets ? { secrets } : {}),
  });
  process.stdout.write(`wrote ${result.path}: the ingest account, ${result.devices.length} devices and ${result.integrations.length} integration principals\n`);
  if (result.withoutSecret.length) process.stdout.write(`no secret known (cannot log in to mosquitto; pass --secrets after a rotate): ${result.withoutSecret.join(', ')}\n`);
  if (result.headEndMeters.length) process.stdout.write(`left out, mosquitto cannot let a head-end gateway publish for its meters (use the aedes broker): ${result.headEndMeters.join(', ')}\n`);
  process.stdout.write('then: docker compose --profile mosquitto restart mosquitto\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli(CLI, main);
