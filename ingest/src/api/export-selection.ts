/**
 * Which devices an export covers: a DMA's water meters, or a device id range of one type, within the
 * caller's role scope (roles.ts). Pure: the registry's records in, the export's device list out.
 */
import { DEVICE_TYPES, type DeviceRecord, type DeviceType } from '@tsunagaru/firmware-contracts';
import { IngestError } from '../errors.js';
import { canSeeDeviceType, canSeeWelfare, type Role } from './roles.js';
import type { ExportDevice } from '../storage/duckdb/readings-export.js';

/** Most devices one export may cover; a larger fleet is exported in id ranges. */
export const MAX_EXPORT_DEVICES = 100_000;

export interface ExportQuery {
  /** Device type; implied (water-meter) by `dma`. */
  type?: DeviceType;
  /** District metered area: the water meters whose `dma` attribute is this. */
  dma?: string;
  /** Device id range, both ends inclusive, in id order; either end may be open. */
  deviceFrom?: string;
  deviceTo?: string;
}

export interface ExportSelection {
  type: DeviceType;
  devices: ExportDevice[];
  welfare: boolean;
}

/** Thrown as 403: the role may not export this device type (types are public, so no need to hide them). */
export class ExportForbidden extends IngestError {
  constructor(message: string) {
    super('INGEST_ERR_FORBIDDEN', message);
  }
}

const text = (v: unknown): string | null => (typeof v === 'string' || typeof v === 'number' ? String(v) : null);

export function selectExportDevices(devices: readonly DeviceRecord[], q: ExportQuery, role: Role): ExportSelection {
  if (q.dma !== undefined && q.type !== undefined && q.type !== 'water-meter') {
    throw new IngestError('INGEST_ERR_BAD_REQUEST', `dma: DMAs hold water meters; leave type out or set it to water-meter, not ${q.type}`);
  }
  const type = q.dma !== undefined ? 'water-meter' : q.type;
  if (!type || !DEVICE_TYPES.includes(type)) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'type: name the device type (or give a dma for water meters)');
  if (q.deviceFrom !== undefined && q.deviceTo !== undefined && q.deviceFrom > q.deviceTo) throw new IngestError('INGEST_ERR_BAD_REQUEST', 'deviceFrom: must not come after deviceTo');
  if (!canSeeDeviceType(role, type)) throw new ExportForbidden(`role ${role} may not export ${type} readings`);
  const welfare = canSeeWelfare(role);
  const selected = devices
    .filter((d) => d.type === type)
    .filter((d) => q.dma === undefined || d.attributes.dma === q.dma)
    .filter((d) => (q.deviceFrom === undefined || d.id >= q.deviceFrom) && (q.deviceTo === undefined || d.id <= q.deviceTo))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (selected.length === 0) {
    const what = q.dma !== undefined ? `in DMA "${q.dma}"` : q.deviceFrom !== undefined || q.deviceTo !== undefined ? `with an id in [${q.deviceFrom ?? ''}, ${q.deviceTo ?? ''}]` : 'provisioned';
    throw new IngestError('INGEST_ERR_NOT_FOUND', `no ${type} devices ${what}`);
  }
  if (selected.length > MAX_EXPORT_DEVICES) throw new IngestError('INGEST_ERR_BAD_REQUEST', `${selected.length} devices match; export at most ${MAX_EXPORT_DEVICES} at a time (narrow deviceFrom/deviceTo)`);
  return {
    type,
    welfare,
    devices: selected.map((d) => ({
      id: d.id,
      dma: text(d.attributes.dma),
      site: text(d.attributes.site),
      island: text(d.attributes.island),
      welfareWatch: welfare ? d.attributes.welfareWatch === true : null,
    })),
  };
}
