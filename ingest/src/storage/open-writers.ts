import type { Logger } from 'pino';
import type { EmbeddedStore } from './duckdb/index.js';
import { FanOutWriter } from './fan-out-writer.js';
import type { DeviceAttributes } from './influx/line-protocol.js';
import { InfluxV1Writer } from './influx/v1-writer.js';
import { InfluxV2Writer } from './influx/v2-writer.js';
import type { StorageConfig } from './store-config.js';
import type { StorageWriter } from './types.js';

/** The writer for STORE: one store, or several written in parallel. */
export function openWriters(config: Pick<StorageConfig, 'stores' | 'influx'>, embedded: EmbeddedStore, attributes: DeviceAttributes, logger?: Logger): StorageWriter {
  const writers = config.stores.map((kind): StorageWriter => {
    const i = config.influx!;
    switch (kind) {
      case 'duckdb':
        return embedded.writer;
      case 'influx-v1':
        return new InfluxV1Writer({ url: i.url, db: i.db!, ...(i.rp ? { rp: i.rp } : {}), ...(i.user ? { user: i.user, password: i.password ?? '' } : {}), attributes, stringFields: i.stringFields });
      case 'influx-v2':
        return new InfluxV2Writer({ url: i.url, org: i.org!, bucket: i.bucket!, ...(i.token ? { token: i.token } : {}), attributes, stringFields: i.stringFields, ...(logger ? { logger } : {}) });
    }
  });
  return new FanOutWriter(writers);
}
