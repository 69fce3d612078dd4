/**
 * Writes an Eclipse Mosquitto 2.0 configuration that grants the same rights as our aedes broker, so
 * devices and the ingest can be tested against a second, independent broker (interop). Only the
 * rights are mirrored: mosquitto's ACL file cannot express "retain only on state" or bind client
 * ids to usernames, and on MQTT 3.1.1 it drops a refused publish silently where aedes disconnects.
 *
 * Two ways to authorise (option `authorisation`):
 * - `acl-file` (default): password_file + acl_file. mosquitto 2.0.11 does not check subscriptions against
 *   an acl_file at all (src/security_default.c: "FIXME - implement ACL subscription strings"); only each
 *   delivery is checked (READ). Anyone who logs in may therefore join the ingest's shared subscription
 *   `$share/<group>/…`, and mosquitto then hands that member its round-robin turn, finds the READ denied and
 *   drops the message (src/subs.c subs__send / subs__shared_process): a device could make the ingest lose
 *   a share of the feed. Fine for a single, non-shared ingest.
 * - `dynamic-security`: mosquitto's own dynamic security plugin (shipped with 2.0), which checks every
 *   SUBSCRIBE against literal/pattern rules on the whole filter, `$share/…` included. Only the ingest
 *   service account may subscribe to `tsunagaru/v1/#` or `$share/<any group>/tsunagaru/v1/#`; a device may
 *   subscribe only to its own `cmd`. Required with ingest workers in a share group.
 */
import { pbkdf2, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { buildTopic, DEVICE_PUBLISH_CHANNELS, isDeviceType, isValidDeviceId, MAX_PAYLOAD_BYTES, TOPIC_ROOT, type DeviceType } from '@tsunagaru/firmware-contracts';
import { BrokerError } from './errors.js';
import { SPARKPLUG_EDGE_VERBS, SPARKPLUG_NAMESPACE, type IntegrationScope } from './integrations/integration-acl.js';
import { checkIntegrationScope } from './integrations/integration-scope.js';

export interface MosquittoCredential {
  username: string;
  password: string;
  /**
   * `device`: rights on its own topics; `ingest`: read everything under tsunagaru/v1, write commands, and
   * what a host application reads and writes of the integrations; `integration`: a ChirpStack application
   * or a Sparkplug group / edge node (integrationRights).
   */
  role: 'device' | 'ingest' | 'integration';
  /** Required for a device: its topics include the type. */
  type?: DeviceType;
  /** Required for an integration: its scope, as the registry keeps it (ServiceAccount.integration). */
  integration?: IntegrationScope;
}

/** Topic rights in mosquitto's terms: what a client may publish (write), receive (read) and subscribe to. */
export interface TopicRights {
  write: string[];
  read: string[];
  /** Filters it may subscribe to exactly as written (dynamic security `subscribeLiteral`). */
  subscribe: string[];
}

/**
 * An integration principal's rights, the same as our broker gives it (integrations/integration-acl.ts):
 * ChirpStack publishes only its application's events and reads only its application's downlinks; a
 * Sparkplug edge node (or every node of a group) publishes its births, deaths and data, reads its NCMD/DCMD
 * and host STATE. Nothing is retained (mosquitto's ACL cannot say so; our broker refuses it).
 */
export function integrationRights(scope: IntegrationScope): TopicRights {
  if (scope.type === 'chirpstack') {
    const down = `application/${scope.applicationId}/device/+/command/down`;
    return { write: [`application/${scope.applicationId}/device/+/event/+`], read: [down], subscribe: [down] };
  }
  const node = scope.edgeNodeId ?? '+';
  const g = `${SPARKPLUG_NAMESPACE}/${scope.groupId}`;
  const write = SPARKPLUG_EDGE_VERBS.map((verb) => (verb.startsWith('D') ? `${g}/${verb}/${node}/+` : `${g}/${verb}/${node}`));
  const read = [`${g}/NCMD/${node}`, `${g}/DCMD/${node}/+`, `${SPARKPLUG_NAMESPACE}/STATE/+`];
  return { write, read, subscribe: [...read, `${g}/DCMD/${node}/#`, `${g}/NCMD/${node}/#`] };
}

/**
 * What the ingest does as a host application on integration topics (broker: ingestCanPublishIntegration):
 * reads ChirpStack events and the Sparkplug namespace, writes downlinks, NCMD/DCMD and its STATE.
 */
export const INGEST_INTEGRATION_RIGHTS: Readonly<TopicRights> = Object.freeze({
  write: ['application/+/device/+/command/down', `${SPARKPLUG_NAMESPACE}/+/NCMD/+`, `${SPARKPLUG_NAMESPACE}/+/DCMD/+/+`, `${SPARKPLUG_NAMESPACE}/STATE/+`],
  read: ['application/+/device/+/event/+', `${SPARKPLUG_NAMESPACE}/#`],
  subscribe: ['application/+/device/+/event/+', `${SPARKPLUG_NAMESPACE}/#`],
});

export interface MosquittoConfigOptions {
  /** Directory that receives mosquitto.conf, passwd and acl (created if missing). */
  dir: string;
  /** Listener port. */
  port: number;
  /** Listener address; default 127.0.0.1. */
  host?: string;
  credentials: MosquittoCredential[];
  /** persistence_location; default `${dir}/persistence`. */
  persistenceDir?: string;
  /** PBKDF2 iterations in the password file; default 101 (mosquitto_passwd's default). */
  iterations?: number;
  /** `user` directive: mosquitto started as root drops to this user; default the current user, so it can read the files written here. */
  runAsUser?: string;
  /** message_size_limit in bytes; default MAX_PAYLOAD_BYTES (65536). */
  maxPayloadBytes?: number;
  /** `acl-file` (default) or `dynamic-security` (needed for shared subscriptions; see the file comment). */
  authorisation?: MosquittoAuthorisation;
  /** The dynamic security plugin; default Debian's path. */
  dynamicSecurityPlugin?: string;
  /** How much mosquitto keeps and sends at once for a client (the ingest); default MOSQUITTO_QUEUE_DEFAULTS. */
  queue?: MosquittoQueue;
}

/**
 * What mosquitto keeps for a client that is slower than its publishers, and sends to it unacknowledged.
 * Past `maxQueuedMessages` or `maxQueuedBytes` mosquitto drops a client's QoS 1 messages that it has
 * already acknowledged to their publishers, silently but for a log line ("Outgoing messages are being
 * dropped"); 0 is no limit.
 */
export interface MosquittoQueue {
  /** `max_queued_messages`; mosquitto's own default is 1000. */
  maxQueuedMessages: number;
  /** `max_queued_bytes`; 0 (mosquitto's default): no byte limit. */
  maxQueuedBytes: number;
  /** `max_inflight_messages`: QoS 1 messages sent to a client and not yet acknowledged; mosquitto's default 20. */
  maxInflightMessages: number;
}

/**
 * The ingest's persistent session must keep every QoS 1 message while the ingest is away or applying
 * backpressure: 1,000,000 messages (mosquitto's default, 1000, would drop the rest silently); in-flight as
 * mosquitto has it.
 */
export const MOSQUITTO_QUEUE_DEFAULTS: Readonly<MosquittoQueue> = Object.freeze({ maxQueuedMessages: 1_000_000, maxQueuedBytes: 0, maxInflightMessages: 20 });

export type MosquittoAuthorisation = 'acl-file' | 'dynamic-security';
export const MOSQUITTO_DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export interface MosquittoConfigFiles {
  confPath: string;
  passwordFilePath: string;
  aclFilePath: string;
  /** With `authorisation: 'dynamic-security'`: the plugin's JSON (clients, roles); passwd and acl are then written but not used. */
  dynamicSecurityPath?: string;
}

/** mosquitto 2.0 password format 7: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key, standard base64. */
const SALT_BYTES = 12;
const KEY_BYTES = 64;
export const MOSQUITTO_DEFAULT_ITERATIONS = 101;

function configError(message: string): BrokerError {
  return new BrokerError('BROKER_ERR_CONFIG', `mosquitto config: ${message}`);
}

async function passwordHash(password: string, options: { iterations?: number; salt?: Buffer }): Promise<{ iterations: number; salt: Buffer; hash: Buffer }> {
  const iterations = options.iterations ?? MOSQUITTO_DEFAULT_ITERATIONS;
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const hash = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, KEY_BYTES, 'sha512', (err, key) => (err ? reject(err) : resolve(key))),
  );
  return { iterations, salt, hash };
}

/** One password-file line: `username:$7$<iterations>$<base64 salt>$<base64 hash>`. */
export async function mosquittoPasswordLine(
  username: string,
  password: string,
  options: { iterations?: number; salt?: Buffer } = {},
): Promise<string> {
  const { iterations, salt, hash } = await passwordHash(password, options);
  return `${username}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

interface DynsecAcl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern';
  topic: string;
  allow: true;
}

/** The rights of one credential as dynamic-security ACLs (the same rights as mosquittoAcl, plus SUBSCRIBE). */
function dynsecAcls(c: MosquittoCredential): DynsecAcl[] {
  const fromRights = (r: TopicRights): DynsecAcl[] => [
    ...r.subscribe.map((topic) => ({ acltype: 'subscribePattern' as const, topic, allow: true as const })),
    ...r.read.map((topic) => ({ acltype: 'publishClientReceive' as const, topic, allow: true as const })),
    ...r.write.map((topic) => ({ acltype: 'publishClientSend' as const, topic, allow: true as const })),
  ];
  if (c.role === 'integration') return fromRights(integrationRights(c.integration!));
  if (c.role === 'ingest') {
    return [
      ...fromRights(INGEST_INTEGRATION_RIGHTS),
      { acltype: 'subscribeLiteral', topic: `${TOPIC_ROOT}/#`, allow: true },
      // Any share group, so the group stays an ingest setting (INGEST_SHARE_GROUP) and not a broker one.
      { acltype: 'subscribePattern', topic: `$share/+/${TOPIC_ROOT}/#`, allow: true },
      { acltype: 'publishClientReceive', topic: `${TOPIC_ROOT}/#`, allow: true },
      { acltype: 'publishClientSend', topic: `${TOPIC_ROOT}/+/+/cmd`, allow: true },
    ];
  }
  const type = c.type as DeviceType;
  const cmd = buildTopic(type, c.username, 'cmd');
  return [
    ...DEVICE_PUBLISH_CHANNELS.map((channel) => ({ acltype: 'publishClientSend' as const, topic: buildTopic(type, c.username, channel), allow: true as const })),
    { acltype: 'subscribeLiteral', topic: cmd, allow: true },
    { acltype: 'publishClientReceive', topic: cmd, allow: true },
  ];
}

/**
 * The dynamic security plugin's JSON: one client and one role per credential, everything not granted
 * denied (`defaultACLAccess` all false but unsubscribe).
 */
export async function mosquittoDynamicSecurity(credentials: readonly MosquittoCredential[], options: { iterations?: number } = {}): Promise<object> {
  const clients = await Promise.all(
    credentials.map(async (c) => {
      const { iterations, salt, hash } = await passwordHash(c.password, options);
      return { username: c.username, salt: salt.toString('base64'), password: hash.toString('base64'), iterations, roles: [{ rolename: `tsunagaru-${c.username}` }] };
    }),
  );
  return {
    defaultACLAccess: { publishClientSend: false, publishClientReceive: false, subscribe: false, unsubscribe: true },
    clients,
    groups: [],
    roles: credentials.map((c) => ({ rolename: `tsunagaru-${c.username}`, acls: dynsecAcls(c).map((a) => ({ ...a, priority: 0 })) })),
  };
}

/** The ACL file: per-user blocks mirroring acl.ts (canPublish/canSubscribe). */
export function mosquittoAcl(credentials: readonly MosquittoCredential[]): string {
  const blocks = credentials.map((c) => {
    if (c.role === 'integration') {
      const r = integrationRights(c.integration!);
      return [`user ${c.username}`, ...r.write.map((t) => `topic write ${t}`), ...r.read.map((t) => `topic read ${t}`)].join('\n');
    }
    if (c.role === 'ingest') {
      return [
        `user ${c.username}`,
        `topic read ${TOPIC_ROOT}/#`,
        `topic write ${TOPIC_ROOT}/+/+/cmd`,
        ...INGEST_INTEGRATION_RIGHTS.read.map((t) => `topic read ${t}`),
        ...INGEST_INTEGRATION_RIGHTS.write.map((t) => `topic write ${t}`),
      ].join('\n');
    }
    const type = c.type as DeviceType;
    return [
      `user ${c.username}`,
      ...DEVICE_PUBLISH_CHANNELS.map((channel) => `topic write ${buildTopic(type, c.username, channel)}`),
      `topic read ${buildTopic(type, c.username, 'cmd')}`,
    ].join('\n');
  });
  return `# Generated by @tsunagaru/broker mosquitto-config.ts: same rights as the aedes ACL.\n${blocks.join('\n\n')}\n`;
}

export function mosquittoConf(o: {
  port: number;
  host: string;
  passwordFilePath: string;
  aclFilePath: string;
  /** Set: authorise with the dynamic security plugin and this JSON instead of password_file/acl_file. */
  dynamicSecurity?: { plugin: string; configPath: string };
  persistenceDir: string;
  runAsUser: string;
  maxPayloadBytes: number;
  queue?: Partial<MosquittoQueue>;
}): string {
  const queue = { ...MOSQUITTO_QUEUE_DEFAULTS, ...o.queue };
  return [
    '# Generated by @tsunagaru/broker mosquitto-config.ts (interop tests).',
    `user ${o.runAsUser}`,
    'per_listener_settings false',
    `listener ${o.port} ${o.host}`,
    'protocol mqtt',
    'allow_anonymous false',
    ...(o.dynamicSecurity
      ? [`plugin ${o.dynamicSecurity.plugin}`, `plugin_opt_config_file ${o.dynamicSecurity.configPath}`]
      : [`password_file ${o.passwordFilePath}`, `acl_file ${o.aclFilePath}`]),
    'persistence true',
    // What mosquitto keeps for a slow client (the ingest) and sends it unacknowledged (MosquittoQueue).
    `max_queued_messages ${queue.maxQueuedMessages}`,
    `max_queued_bytes ${queue.maxQueuedBytes}`,
    `max_inflight_messages ${queue.maxInflightMessages}`,
    `persistence_location ${o.persistenceDir.endsWith('/') ? o.persistenceDir : `${o.persistenceDir}/`}`,
    // Payload cap as the contract states it; max_packet_size also bounds the whole packet like our socket guard.
    `message_size_limit ${o.maxPayloadBytes}`,
    `max_packet_size ${o.maxPayloadBytes + 4096}`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ].join('\n');
}

function checkCredentials(credentials: readonly MosquittoCredential[]): void {
  const seen = new Set<string>();
  for (const c of credentials) {
    // The pattern also keeps ':' (password file separator), spaces and newlines out of both files.
    if (!isValidDeviceId(c.username)) throw configError(`username "${c.username}" must match [A-Za-z0-9_-]{1,64}`);
    if (seen.has(c.username)) throw configError(`username "${c.username}" appears twice`);
    seen.add(c.username);
    if (typeof c.password !== 'string' || c.password.length === 0) throw configError(`password of "${c.username}" is empty`);
    if (c.role === 'device' && !(c.type && isDeviceType(c.type))) throw configError(`device "${c.username}" needs a valid type`);
    if (c.role !== 'device' && c.role !== 'ingest' && c.role !== 'integration') throw configError(`role of "${c.username}" must be device, ingest or integration`);
    if (c.role === 'integration') {
      const problem = checkIntegrationScope(c.integration);
      if (problem) throw configError(`integration "${c.username}": ${problem}`);
    }
  }
}

/** Writes mosquitto.conf, passwd (mode 0600) and acl into `options.dir`; returns their paths. */
export async function writeMosquittoConfig(options: MosquittoConfigOptions): Promise<MosquittoConfigFiles> {
  checkCredentials(options.credentials);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw configError(`port must be 1..65535, got ${options.port}`);
  const persistenceDir = options.persistenceDir ?? join(options.dir, 'persistence');
  await mkdir(options.dir, { recursive: true });
  await mkdir(persistenceDir, { recursive: true });
  const files: MosquittoConfigFiles = {
    confPath: join(options.dir, 'mosquitto.conf'),
    passwordFilePath: join(options.dir, 'passwd'),
    aclFilePath: join(options.dir, 'acl'),
  };
  const lines = await Promise.all(options.credentials.map((c) => mosquittoPasswordLine(c.username, c.password, { iterations: options.iterations })));
  await writeFile(files.passwordFilePath, `${lines.join('\n')}\n`, { mode: 0o600 });
  await writeFile(files.aclFilePath, mosquittoAcl(options.credentials), { mode: 0o600 });
  let dynamicSecurity: { plugin: string; configPath: string } | undefined;
  if ((options.authorisation ?? 'acl-file') === 'dynamic-security') {
    dynamicSecurity = { plugin: options.dynamicSecurityPlugin ?? MOSQUITTO_DYNSEC_PLUGIN, configPath: join(options.dir, 'dynamic-security.json') };
    files.dynamicSecurityPath = dynamicSecurity.configPath;
    await writeFile(dynamicSecurity.configPath, `${JSON.stringify(await mosquittoDynamicSecurity(options.credentials, { iterations: options.iterations }), null, 2)}\n`, { mode: 0o600 });
  } else if (options.authorisation !== undefined && options.authorisation !== 'acl-file') {
    throw configError(`authorisation must be acl-file or dynamic-security, got "${options.authorisation}"`);
  }
  const conf = mosquittoConf({
    ...(dynamicSecurity ? { dynamicSecurity } : {}),
    port: options.port,
    host: options.host ?? '127.0.0.1',
    passwordFilePath: files.passwordFilePath,
    aclFilePath: files.aclFilePath,
    persistenceDir,
    runAsUser: options.runAsUser ?? userInfo().username,
    maxPayloadBytes: options.maxPayloadBytes ?? MAX_PAYLOAD_BYTES,
    ...(options.queue ? { queue: options.queue } : {}),
  });
  await writeFile(files.confPath, conf, { mode: 0o600 });
  return files;
}
