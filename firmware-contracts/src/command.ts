import { z } from 'zod';
import { bounded, contractVersion, epochMs } from './common.js';

export const COMMAND_NAMES = ['ping', 'set_sample_interval', 'reboot', 'generator_test', 'replay'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

const cmdId = z.string().min(1).max(64);
const noArgs = z.strictObject({});

/** Common command fields (contract v1, "Commands"). */
const commandShape = { v: contractVersion, cmdId, ts: epochMs, expiresTs: epochMs.optional() };

export const commandSchema = z.discriminatedUnion('name', [
  z.strictObject({ ...commandShape, name: z.literal('ping'), args: noArgs.optional() }),
  z.strictObject({ ...commandShape, name: z.literal('set_sample_interval'), args: z.strictObject({ sec: bounded('sampleSec') }) }),
  z.strictObject({ ...commandShape, name: z.literal('reboot'), args: noArgs.optional() }),
  z.strictObject({ ...commandShape, name: z.literal('generator_test'), args: noArgs.optional() }),
  z.strictObject({
    ...commandShape,
    name: z.literal('replay'),
    args: z.strictObject({ fromTs: epochMs, toTs: epochMs }),
  }),
]);

/** Commands that only make sense for one device type; others apply to all. */
export const COMMAND_DEVICE_TYPES: Partial<Record<CommandName, readonly string[]>> = {
  generator_test: ['bs-power'],
};

export const commandAckSchema = z.strictObject({
  v: contractVersion,
  cmdId,
  ok: z.boolean(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.string().max(1024).optional(),
  ts: epochMs,
});

export type Command = z.infer<typeof commandSchema>;
export type CommandAck = z.infer<typeof commandAckSchema>;
