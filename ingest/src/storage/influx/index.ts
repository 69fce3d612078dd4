export { messageLines, formatField, SeriesKeyCache, type DeviceAttributes, type LineOptions } from './line-protocol.js';
export { InfluxV1Writer, type InfluxV1Options } from './v1-writer.js';
export { InfluxV2Writer, type InfluxV2Options } from './v2-writer.js';
