/**
 * TLS for `npm start`:
 * - mqtts on MQTTS_PORT (default 8883; `off` disables it) beside the plain loopback port the simulators
 *   use. Certificate from MQTT_TLS_CERT / MQTT_TLS_KEY (+ MQTT_TLS_CA for device certificates,
 *   MQTT_TLS_CLIENT_CERTS off|optional|required); without them, the development CA in DATA_DIR/tls,
 *   which also issues device certificates (`npm run devices -- cert <id>`), so client certificates are
 *   `optional` there.
 * - The API over HTTPS with HTTP_TLS_CERT / HTTP_TLS_KEY, or HTTP_TLS=dev for the development
 *   certificate. Plain HTTP otherwise (the API binds 127.0.0.1 by default).
 */
import { BrokerError, ensureDevCertificates, readTlsFiles, tlsDirFor, type DevCertificates, type TlsListenOptions } from '@tsunagaru/broker';
import type { StartEnv } from './start-env.js';

export interface StartTls {
  mqtt?: { port: number; options: TlsListenOptions; source: 'files' | 'development' };
  http?: { cert: string; key: string };
  httpSource?: 'files' | 'development';
  dev?: DevCertificates;
}

/** `env`: the variables as start-env.ts parsed them (values checked there; here what needs the files). */
export async function resolveTls(env: StartEnv, dataDir: string, httpFromConfig: { cert: string; key: string } | undefined): Promise<StartTls> {
  const out: StartTls = {};
  let dev: DevCertificates | undefined;
  const devCerts = async () => (dev ??= await ensureDevCertificates(tlsDirFor(dataDir)));

  if (env.MQTTS_PORT !== 'off') {
    const port = env.MQTTS_PORT ?? 8883;
    const files = readTlsFiles({ cert: env.MQTT_TLS_CERT, key: env.MQTT_TLS_KEY, ca: env.MQTT_TLS_CA }, { cert: 'MQTT_TLS_CERT', key: 'MQTT_TLS_KEY', ca: 'MQTT_TLS_CA' });
    const certs = files ?? (await devCerts());
    const mode = env.MQTT_TLS_CLIENT_CERTS ?? (certs.ca ? 'optional' : 'off');
    if (mode !== 'off' && !certs.ca) throw new BrokerError('BROKER_ERR_CONFIG', `MQTT_TLS_CA: required when MQTT_TLS_CLIENT_CERTS is ${mode}`);
    out.mqtt = { port, source: files ? 'files' : 'development', options: { cert: certs.cert, key: certs.key, ...(certs.ca ? { ca: certs.ca } : {}), clientCertificates: mode } };
  }

  if (httpFromConfig) {
    out.http = httpFromConfig;
    out.httpSource = 'files';
  } else if (env.HTTP_TLS === 'dev') {
    const d = await devCerts();
    out.http = { cert: d.cert, key: d.key };
    out.httpSource = 'development';
  }
  if (dev) out.dev = dev;
  return out;
}

/** Banner lines for the start screen. */
export function tlsBannerLines(tls: StartTls, mqttsPort: number | undefined, host: string): string[] {
  const lines: string[] = [];
  if (tls.mqtt && mqttsPort !== undefined) {
    const shown = host === '0.0.0.0' ? '127.0.0.1' : host;
    const certs = tls.mqtt.options.clientCertificates === 'off' ? '' : `, client certificates ${tls.mqtt.options.clientCertificates}`;
    lines.push(`  MQTT (TLS)   mqtts://${shown === '127.0.0.1' ? 'localhost' : shown}:${mqttsPort}   (${tls.mqtt.source === 'development' ? 'development certificate' : 'certificate from MQTT_TLS_CERT'}${certs})`);
  }
  if (tls.dev) lines.push(`  TLS CA       ${tls.dev.caPath}   (development CA: trust it with --cacert; never use it in production)`);
  return lines;
}
