/**
 * Every error the simulators raise, in the template of all packages (firmware-contracts CodedError): a
 * `SIM_ERR_` code, canRetry(), details. The command lines name the flag or field at fault.
 */
import { CodedError, type CodedErrorInit } from '@tsunagaru/firmware-contracts';

export type SimulatorErrorCode =
  /** A command-line mistake; the message names the flag (exit 2 with the usage). */
  | 'SIM_ERR_CLI'
  /** A fleet spec that cannot run (duplicate ids, a device type without a model). */
  | 'SIM_ERR_FLEET_CONFIG'
  /** A scenario file that is invalid; the message names the field. */
  | 'SIM_ERR_SCENARIO'
  /** No secret for a device or gateway: provision it first. */
  | 'SIM_ERR_CREDENTIALS'
  /** A simulated Modbus controller cannot start (port taken, a register map of another device type). */
  | 'SIM_ERR_MODBUS'
  /** The system under a scored run did not do what the run waits for (the ingest, its API). */
  | 'SIM_ERR_RUN';

const CAN_RETRY: ReadonlySet<SimulatorErrorCode> = new Set(['SIM_ERR_MODBUS', 'SIM_ERR_RUN']);

export class SimulatorError extends CodedError<SimulatorErrorCode> {
  override readonly name: string = 'SimulatorError';

  constructor(code: SimulatorErrorCode, message: string, init: CodedErrorInit = {}) {
    super(code, message, CAN_RETRY.has(code), init);
  }
}
