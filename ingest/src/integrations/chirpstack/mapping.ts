/**
 * A ChirpStack mapping file: for one device profile (ChirpStack's `deviceInfo.deviceProfileName`), which
 * contract readings come from which fields of the `up` event (normally the codec's decoded `object`), and
 * how contract commands are encoded as downlinks. See docs/integrations.md and the shipped example
 * ingest/mappings/chirpstack/water-meter-index.yaml.
 */
import { COMMAND_NAMES } from '@tsunagaru/firmware-contracts';
import { z } from 'zod';
import { loadKeyedMappings } from '../mapping-files.js';
import { MAPPABLE_TYPES, READINGS, type MappableType } from '../shared.js';

const path = z.string().regex(/^[A-Za-z_][\w]*(\.[\w]+)*$/, 'must be a dotted path into the up event, e.g. object.volumeL');
/** `indexL: object.volumeL`, or `indexL: { from: object.volumeM3, scale: 1000 }`. */
const fieldRule = z.union([path, z.strictObject({ from: path, scale: z.number().finite().refine((n) => n !== 0, 'must not be 0').optional() })]);

/** A number in a downlink: a literal, or `args.<name>` of the contract command. */
const valueRef = z.union([z.int().min(0), z.string().regex(/^args\.[A-Za-z_]\w*$/, 'must be an integer or args.<name>, e.g. args.sec')]);
const byteItem = z.union([
  z.strictObject({ u8: valueRef }),
  z.strictObject({ u16be: valueRef }),
  z.strictObject({ u16le: valueRef }),
  z.strictObject({ u32be: valueRef }),
  z.strictObject({ u32le: valueRef }),
  z.strictObject({ hex: z.string().regex(/^(?:[0-9a-fA-F]{2})+$/, 'must be an even number of hex digits') }),
]);

const downlink = z
  .strictObject({
    /** LoRaWAN FPort of the downlink (1..223; 0 is MAC commands, 224+ reserved). */
    fPort: z.int().min(1).max(223),
    /** Confirmed downlink: the meter's ACK becomes the command's ack. Default true. */
    confirmed: z.boolean().default(true),
    /** Encoded by ChirpStack with the device profile's codec; strings `$args.<name>` take the command's argument. */
    object: z.record(z.string(), z.unknown()).optional(),
    /** Encoded here: the frame payload, item by item. */
    bytes: z.array(byteItem).min(1).max(64).optional(),
  })
  .refine((d) => (d.object === undefined) !== (d.bytes === undefined), { message: 'give exactly one of object (encoded by ChirpStack\'s codec) or bytes (encoded here)' });

export const chirpStackMappingSchema = z
  .strictObject({
    /** ChirpStack's device-profile name, exactly as in `deviceInfo.deviceProfileName`. */
    deviceProfileName: z.string().min(1).max(256),
    /** The Tsunagaru device type the meters of this profile are provisioned as. */
    type: z.enum(MAPPABLE_TYPES),
    /** For the birth a join becomes: the model (default: the profile name) and firmware (default "lorawan"). */
    model: z.string().min(1).max(64).optional(),
    fw: z.string().min(1).max(64).optional(),
    /** The meters' uplink interval in seconds (the birth's sampleSec). */
    sampleSec: z.int().min(1).max(86_400),
    /** Contract reading → where it is in the up event. */
    fields: z.record(z.string(), fieldRule),
    /** Contract command name → its downlink. A command without one is answered "not supported" at once. */
    commands: z.partialRecord(z.enum(COMMAND_NAMES), downlink).optional(),
  })
  .superRefine((m, ctx) => {
    const allowed = READINGS[m.type as MappableType];
    for (const key of Object.keys(m.fields)) {
      if (!allowed.includes(key)) ctx.addIssue({ code: 'custom', path: ['fields', key], message: `not a ${m.type} reading; one of ${allowed.join(', ')}` });
    }
    if (m.type === 'water-meter' && !('indexL' in m.fields)) ctx.addIssue({ code: 'custom', path: ['fields', 'indexL'], message: 'is required: every water-meter sample carries indexL (contract v1)' });
    if (Object.keys(m.fields).length === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'must map at least one reading' });
  });

export type ChirpStackMapping = z.infer<typeof chirpStackMappingSchema>;
export type Downlink = NonNullable<NonNullable<ChirpStackMapping['commands']>[keyof NonNullable<ChirpStackMapping['commands']>]>;

/** Reads every mapping in `dir`, keyed by device-profile name; two files for one profile is an error. */
export function loadChirpStackMappings(dir: string): Map<string, ChirpStackMapping> {
  return loadKeyedMappings(chirpStackMappingSchema, dir, 'CHIRPSTACK_MAPPINGS_DIR', { field: 'deviceProfileName', of: (m) => m.deviceProfileName });
}
