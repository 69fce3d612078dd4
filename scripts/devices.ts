/**
 * `npm run devices -- add|rotate|disable|enable|revoke|cert|list|import …` on DATA_DIR's device registry
 * (`$DATA_DIR/registry/devices.jsonl`). Safe beside a running `npm start` / ingest: it only appends
 * one fsynced line per change (no compaction), and the broker follows the file, so rotate, disable and
 * revoke close the device's live MQTT session within moments. Every change is audited.
 */
import { pathToFileURL } from 'node:url';
import { FileDeviceRegistry, issueDeviceCertificate, registryPathFor, tlsDirFor, type AttributeValue, type DeviceRecord } from '@tsunagaru/broker';
import { DEVICE_TYPES, isDeviceType, devicePrefix } from '@tsunagaru/firmware-contracts';
import { auditPathFor, FileAuditLog } from '@tsunagaru/ingest/operators';
import { cliActor, commandHelp, dataDirFromEnv, runCli, UsageError, type Cli, type ParsedCommand } from './cli-support.js';
import { runImport } from './devices-import.js';

export const CLI: Cli = {
  name: 'devices',
  commands: {
    add: {
      args: '<id> <type>',
      arity: 2,
      summary: `provision a device; prints its MQTT secret once. type: ${DEVICE_TYPES.join(' | ')}`,
      options: {
        attr: { type: 'string', multiple: true, arg: 'key=value', help: 'an attribute (repeatable): dma, site, island, headEnd, welfareWatch…; numbers, true/false and null are typed' },
        lat: { type: 'string', arg: 'deg', help: 'latitude, −90…90 (with --lon)' },
        lon: { type: 'string', arg: 'deg', help: 'longitude, −180…180 (with --lat)' },
      },
    },
    rotate: { args: '<id>', arity: 1, summary: 'new secret (printed once); the old one stops working, a live session is closed' },
    disable: { args: '<id>', arity: 1, summary: 'refuse logins, close a live session' },
    enable: { args: '<id>', arity: 1, summary: 'allow logins again (a revoked device also needs rotate)' },
    revoke: { args: '<id>', arity: 1, summary: 'disable and destroy the secret; close a live session' },
    cert: { args: '<id>', arity: 1, summary: 'issue a TLS client certificate (CN = id) from the development CA in DATA_DIR/tls, for mqtts login without a secret (npm start; production uses its own PKI)' },
    list: { args: '', arity: 0, summary: 'devices with type, state and attributes (never secrets or hashes)', options: { json: { type: 'boolean', help: 'as JSON' } } },
    import: {
      args: '<file>',
      arity: 1,
      summary:
        'provision (or update) many devices from a CSV or JSON Lines file; every row is checked first and nothing is written if one is wrong (problems listed by line). CSV: header id,type[,lat,lon][,<attribute>…]. A row with a headEnd attribute is a meter behind that gateway (no secret). Re-importing changes nothing.',
      options: {
        'dry-run': { type: 'boolean', help: 'check and count only; write nothing' },
        format: { type: 'string', arg: 'csv|jsonl', help: 'the file\'s format (default: from its name, .csv, .jsonl or .ndjson)' },
        secrets: { type: 'string', arg: 'out.csv', help: 'where the new secrets go (default <file>.secrets-<time>.csv beside the file, mode 0600)' },
      },
    },
  },
  footer: 'environment: DATA_DIR (default ./data)',
};

/** `--attr k=v`: numbers, true/false and null are typed; everything else is a string. */
function parseAttributes(values: readonly string[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of values) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--attr wants key=value, got "${kv}"`, commandHelp(CLI, 'add'));
    const raw = kv.slice(eq + 1);
    out[kv.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : raw === 'null' ? null : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

function describe(d: DeviceRecord): string {
  return `${d.id}  ${d.type.padEnd(11)}  ${d.disabled ? 'disabled' : 'enabled '}  ${JSON.stringify(d.attributes)}`;
}

async function main({ command, positionals, values }: ParsedCommand): Promise<void> {
  const [id, type] = positionals;
  const dataDir = dataDirFromEnv();
  const registry = await FileDeviceRegistry.open({ path: registryPathFor(dataDir), compactAtOpen: false, watch: false });
  const audit = new FileAuditLog(auditPathFor(dataDir));
  const actor = cliActor(`devices ${command}`);
  const out = (text: string) => process.stdout.write(`${text}\n`);
  try {
    switch (command) {
      case 'add': {
        if (!type || !isDeviceType(type)) throw new UsageError(`add needs a type (${DEVICE_TYPES.join(', ')}), got ${JSON.stringify(type ?? '')}`, commandHelp(CLI, 'add'));
        const lat = values.lat as string | undefined;
        const lon = values.lon as string | undefined;
        if ((lat === undefined) !== (lon === undefined)) throw new UsageError('--lat and --lon go together', commandHelp(CLI, 'add'));
        const { device, secret } = await registry.provision({
          id: id!,
          type,
          attributes: parseAttributes((values.attr as string[] | undefined) ?? []),
          ...(lat !== undefined && lon !== undefined ? { location: { lat: Number(lat), lon: Number(lon) } } : {}),
        });
        await audit.record(actor, { action: 'device.provision', target: device.id, detail: { type } });
        out(`provisioned ${describe(device)}\nmqtt username  ${device.id}\nsecret         ${secret}\npublish under  ${devicePrefix(device.type, device.id)}\n\nThe secret is shown once; only its scrypt hash is stored.`);
        break;
      }
      case 'rotate': {
        const { device, secret } = await registry.rotateSecret(id!);
        await audit.record(actor, { action: 'device.rotate-secret', target: device.id });
        out(`rotated ${device.id}\nsecret  ${secret}\n\nShown once. The old secret no longer works; a live session is closed.`);
        break;
      }
      case 'disable':
      case 'enable': {
        const device = await registry.setDisabled(id!, command === 'disable');
        await audit.record(actor, { action: `device.${command}`, target: device.id });
        out(`${command}d ${describe(device)}`);
        break;
      }
      case 'revoke': {
        const device = await registry.revoke(id!);
        await audit.record(actor, { action: 'device.revoke', target: device.id });
        out(`revoked ${device.id}: disabled, secret destroyed. Re-admit with rotate + enable.`);
        break;
      }
      case 'cert': {
        const device = registry.getDevice(id!);
        if (!device) throw new UsageError(`device "${id}" is not provisioned`, commandHelp(CLI, 'cert'));
        const files = await issueDeviceCertificate(tlsDirFor(dataDir), device.id);
        await audit.record(actor, { action: 'device.issue-certificate', target: device.id });
        out(`certificate  ${files.certPath}\nkey          ${files.keyPath}\nCA           ${files.caPath}\n\nConnect to mqtts with the certificate and key (no secret needed; CN = ${device.id}). Disabling or revoking the device also shuts its certificate out.`);
        break;
      }
      case 'import':
        await runImport(registry, audit, actor, { file: id!, format: values.format as string | undefined, dryRun: values['dry-run'] === true, secretsPath: values.secrets as string | undefined, usage: commandHelp(CLI, 'import') }, out);
        break;
      case 'list': {
        const devices = registry.listDevices();
        if (values.json) out(JSON.stringify(devices.map(({ secretHash: _h, ...d }) => d), null, 2));
        else out(devices.length ? devices.map(describe).join('\n') : `no devices in ${registryPathFor(dataDir)}`);
        break;
      }
    }
  } finally {
    await registry.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli(CLI, main);
