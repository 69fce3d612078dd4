/**
 * Certificates for TLS (mqtts, and the API over HTTPS). Production certificates come from files named
 * in the environment (readTlsFiles). For `npm start` without any, a development CA and server
 * certificate are generated under `$DATA_DIR/tls/` with the `openssl` command-line tool (Node can use
 * X.509 but cannot create it); the same CA can issue device client certificates (CN = device id).
 * Keys are written 0600 and never leave DATA_DIR.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BrokerError } from './errors.js';

const run = promisify(execFile);

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
}

export interface DevCertificates extends Required<TlsFiles> {
  dir: string;
  caPath: string;
  certPath: string;
  keyPath: string;
}

/** Reads PEM files named by environment variables; errors name the variable (config style). */
export function readTlsFiles(paths: { cert?: string; key?: string; ca?: string }, names: { cert: string; key: string; ca: string }): TlsFiles | undefined {
  if (!paths.cert && !paths.key) {
    if (paths.ca) throw new BrokerError('BROKER_ERR_CONFIG', `${names.ca}: set only together with ${names.cert} and ${names.key}`);
    return undefined;
  }
  if (!paths.cert || !paths.key) throw new BrokerError('BROKER_ERR_CONFIG', `${paths.cert ? names.key : names.cert}: required when ${paths.cert ? names.cert : names.key} is set`);
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new BrokerError('BROKER_ERR_CONFIG', `${name}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const files: TlsFiles = { cert: read(names.cert, paths.cert), key: read(names.key, paths.key), ...(paths.ca ? { ca: read(names.ca, paths.ca) } : {}) };
  if (!files.cert.includes('BEGIN CERTIFICATE')) throw new BrokerError('BROKER_ERR_CONFIG', `${names.cert}: ${paths.cert} is not a PEM certificate`);
  if (!/BEGIN (EC |RSA |ENCRYPTED )?PRIVATE KEY/.test(files.key)) throw new BrokerError('BROKER_ERR_CONFIG', `${names.key}: ${paths.key} is not a PEM private key`);
  return files;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === 'ENOENT' ? 'the openssl command is not installed' : (e.stderr || e.message).trim().slice(0, 300);
    throw new BrokerError('BROKER_ERR_TLS', `cannot generate a development certificate (${why}); install openssl or give certificate files (MQTT_TLS_CERT/MQTT_TLS_KEY, HTTP_TLS_CERT/HTTP_TLS_KEY)`, { cause: err });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Signs `csr` with the dev CA, with the given X.509v3 extensions. */
async function sign(dir: string, csr: string, out: string, days: number, extensions: string): Promise<void> {
  const ext = join(dir, `ext-${randomBytes(4).toString('hex')}.cnf`);
  writeFileSync(ext, extensions);
  try {
    await openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', String(days), '-out', out, '-extfile', ext]);
  } finally {
    rmSync(ext, { force: true });
    rmSync(csr, { force: true });
  }
}

function validFor(path: string, ms: number): boolean {
  try {
    return Date.parse(new X509Certificate(readFileSync(path)).validTo) - Date.now() > ms;
  } catch {
    return false;
  }
}

/**
 * The development CA and server certificate in `dir` (`$DATA_DIR/tls`), generated on first use and
 * reused while valid for more than 30 more days. The server certificate names localhost, 127.0.0.1,
 * ::1 and any extra `hosts`. Clients trust `caPath` (e.g. `curl --cacert`, MQTT.js `ca`).
 */
export async function ensureDevCertificates(dir: string, hosts: readonly string[] = []): Promise<DevCertificates> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caPath = join(dir, 'ca.pem');
  const certPath = join(dir, 'server.pem');
  const keyPath = join(dir, 'server.key');
  const month = 30 * 24 * 3600_000;
  if (!validFor(caPath, month) || !existsSync(join(dir, 'ca.key'))) {
    await openssl(['req', '-x509', ...EC_KEY, '-keyout', join(dir, 'ca.key'), '-out', caPath, '-days', '3650', '-subj', '/CN=Tsunagaru development CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    chmodSync(join(dir, 'ca.key'), 0o600);
    rmSync(certPath, { force: true }); // a new CA invalidates the old server certificate
  }
  if (!validFor(certPath, month) || !existsSync(keyPath)) {
    const csr = join(dir, 'server.csr');
    await openssl(['req', ...EC_KEY, '-keyout', keyPath, '-out', csr, '-subj', '/CN=localhost']);
    chmodSync(keyPath, 0o600);
    const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...hosts.map((h) => (/^[0-9.:]+$/.test(h) ? `IP:${h}` : `DNS:${h}`))];
    await sign(dir, csr, certPath, 825, `subjectAltName=${[...new Set(names)].join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  }
  return { dir, caPath, certPath, keyPath, ca: readFileSync(caPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
}

/**
 * Issues a client certificate for a device from the development CA in `dir` (CN = device id), written
 * to `${dir}/devices/<id>.pem` and `.key`. For a real fleet, the operator's own PKI does this.
 */
export async function issueDeviceCertificate(dir: string, deviceId: string, days = 365): Promise<{ certPath: string; keyPath: string; caPath: string }> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(deviceId)) throw new BrokerError('BROKER_ERR_CONFIG', `device id ${JSON.stringify(deviceId.slice(0, 80))} is not valid`);
  await ensureDevCertificates(dir);
  const out = join(dir, 'devices');
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const keyPath = join(out, `${deviceId}.key`);
  const certPath = join(out, `${deviceId}.pem`);
  const csr = join(out, `${deviceId}.csr`);
  await openssl(['req', ...EC_KEY, '-keyout', keyPath, '-out', csr, '-subj', `/CN=${deviceId}`]);
  chmodSync(keyPath, 0o600);
  await sign(dir, csr, certPath, days, 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  return { certPath, keyPath, caPath: join(dir, 'ca.pem') };
}

/** Where `npm start` keeps its development certificates. */
export function tlsDirFor(dataDir: string): string {
  return join(dataDir, 'tls');
}
