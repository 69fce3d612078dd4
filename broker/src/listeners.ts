import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';

/**
 * TLS for the MQTT listener (mqtts). PEM contents, not paths: config.ts reads the files once at start.
 * `clientCertificates`:
 * - `off` (default): no client certificate is asked for; devices log in with id + secret.
 * - `optional`: a certificate is asked for; one that verifies against `ca` authenticates the device
 *   named by its CN (no secret needed); without one, the secret is checked as usual.
 * - `required`: the TLS handshake fails without a certificate that verifies against `ca`.
 */
export interface TlsListenOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA bundle that signs client certificates; required unless clientCertificates is `off`. */
  ca?: string | Buffer;
  clientCertificates?: 'off' | 'optional' | 'required';
}

export interface PeerCertificate {
  /** The TLS layer verified the chain against the configured CA. */
  authorized: boolean;
  commonName: string | undefined;
}

/** What a verified client certificate says, or undefined on plain TCP / without a certificate. */
export function peerCertificateOf(socket: Socket): PeerCertificate | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN;
  return { authorized: socket.authorized, commonName: Array.isArray(cn) ? cn[0] : cn };
}

/**
 * A TCP or TLS server that hands every accepted (and, for TLS, handshaken) socket to `onSocket`.
 * `onRawConnection` sees each raw TCP connection first, before any TLS work, and may refuse it
 * (the connection cap) by returning false.
 */
export function createMqttServer(
  onSocket: (socket: Socket) => void,
  onRawConnection: (socket: Socket) => boolean,
  tls: TlsListenOptions | undefined,
  onTlsError: (err: Error, socket: Socket) => void,
): Server {
  if (!tls) {
    return createServer((socket) => {
      if (onRawConnection(socket)) onSocket(socket);
      else socket.destroy();
    });
  }
  const mode = tls.clientCertificates ?? 'off';
  const server = createTlsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca } : {}),
      requestCert: mode !== 'off',
      rejectUnauthorized: mode === 'required',
      minVersion: 'TLSv1.2',
      // A peer that opens a socket and never finishes the handshake is dropped.
      handshakeTimeout: 10_000,
    },
    (socket) => onSocket(socket),
  );
  server.on('connection', (socket: Socket) => {
    if (!onRawConnection(socket)) socket.destroy();
  });
  server.on('tlsClientError', (err, socket) => {
    onTlsError(err, socket);
    socket.destroy();
  });
  return server;
}
