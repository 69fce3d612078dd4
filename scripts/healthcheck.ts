/**
 * The containers' health probe (Dockerfile HEALTHCHECK, docker-compose.yml `healthcheck:`), run inside the
 * container beside the process it probes:
 *
 *   node dist/scripts/healthcheck.js          ingest / single node: GET /api/v1/health (public) answers 200
 *   node dist/scripts/healthcheck.js --mqtt   standalone broker: an MQTT CONNECT is answered with a CONNACK
 *
 * Exit 0 healthy, 1 not. Node built-ins only: it runs every few seconds, so it must start in milliseconds
 * (no ingest, no DuckDB). It reads the same variables as the service (HTTP_HOST, HTTP_PORT, HTTP_TLS_CERT or
 * HTTP_TLS=dev;
 * MQTT_HOST, MQTT_PORT), an address bound to every interface probed on loopback.
 *
 * The broker probe sends an MQTT 5 CONNECT without credentials. aedes 1.2 speaks MQTT 3.1.1 and answers it
 * with CONNACK 1 (unacceptable protocol version) before any authentication: proof that the broker's event
 * loop reads and answers MQTT, without a login attempt that would be logged as a denial and count towards
 * the lockouts of the address (a 3.1.1 CONNECT without a password would).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

const TIMEOUT_MS = 4000;

const loopbackFor = (host: string | undefined) => (!host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

function port(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (!text) return fallback;
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new Error(`${variable}: a port 1..65535 to probe, got "${text}"`);
  return n;
}

/** 200 from /api/v1/health; prints the status it reports (ok or degraded). */
function probeHttp(host: string, portNumber: number, tls: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = tls ? httpsRequest : httpRequest;
    // Loopback to our own listener: its certificate names the public host, not 127.0.0.1.
    const req = request({ host, port: portNumber, path: '/api/v1/health', timeout: TIMEOUT_MS, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`health answered HTTP ${res.statusCode}`));
        try {
          resolve(String((JSON.parse(body) as { status?: unknown }).status));
        } catch {
          reject(new Error('health answered 200 without JSON'));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** MQTT 5 CONNECT, clean start, no credentials, client id "healthcheck". */
const CONNECT_V5 = (() => {
  const clientId = Buffer.from('healthcheck');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x0a, 0x00]);
  const payload = Buffer.concat([Buffer.from([clientId.length >> 8, clientId.length & 0xff]), clientId]);
  return Buffer.concat([Buffer.from([0x10, variable.length + payload.length]), variable, payload]);
})();

/** Resolves with the CONNACK's return code once the broker answers the CONNECT. */
function probeMqtt(host: string, portNumber: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: portNumber });
    const timer = setTimeout(() => socket.destroy(new Error(`no CONNACK within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    let got = Buffer.alloc(0);
    socket.on('connect', () => socket.write(CONNECT_V5));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 4) return;
      clearTimeout(timer);
      socket.destroy();
      // CONNACK: type 2 (0x20); 3.1.1 answers carry the code in byte 3, MQTT 5 ones the reason code.
      if (got[0] === 0x20) resolve(got[3]!);
      else reject(new Error(`not a CONNACK: packet type ${got[0]! >> 4}`));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without a CONNACK'));
    });
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write('usage: node dist/scripts/healthcheck.js [--mqtt]\n  (none)   the API: GET /api/v1/health on HTTP_HOST:HTTP_PORT (HTTPS with HTTP_TLS_CERT or HTTP_TLS=dev)\n  --mqtt   the broker: an MQTT CONNECT answered on MQTT_HOST:MQTT_PORT\nexit 0 healthy, 1 not\n');
    return;
  }
  if (process.argv.includes('--mqtt')) {
    const code = await probeMqtt(loopbackFor(process.env.MQTT_HOST), port('MQTT_PORT', 1883));
    process.stdout.write(`mqtt: answered (CONNACK ${code})\n`);
    return;
  }
  // HTTPS with the operator's certificate, or the single node's development one (scripts/start-tls.ts).
  const tls = Boolean(process.env.HTTP_TLS_CERT) || process.env.HTTP_TLS === 'dev';
  const status = await probeHttp(loopbackFor(process.env.HTTP_HOST), port('HTTP_PORT', 8080), tls);
  process.stdout.write(`api: ${status}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`unhealthy: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
