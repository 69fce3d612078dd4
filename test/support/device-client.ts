import mqtt, { type MqttClient } from 'mqtt';

/** A bare MQTT 3.1.1 client logged in as a device: for sending exactly the bytes a test wants. */
export async function connectDevice(url: string, deviceId: string, secret: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 4, clientId: deviceId, username: deviceId, password: secret, reconnectPeriod: 0, connectTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
  return client;
}

/** Resolves with the CONNACK refusal (error code) a connection attempt gets, or 'connected'. */
export async function tryConnect(url: string, username: string, password: string): Promise<number | 'connected' | string> {
  try {
    const c = await connectDevice(url, username, password);
    await c.endAsync();
    return 'connected';
  } catch (err) {
    return (err as { code?: number }).code ?? (err as Error).message;
  }
}

export const T0 = Date.UTC(2026, 10, 23, 3, 0, 0);

export function telemetryPayload(id: string, seq: number, samples: object[], boot = 1): string {
  return JSON.stringify({ v: 1, id, boot, seq, ts: (samples[0] as { ts: number }).ts, samples });
}
