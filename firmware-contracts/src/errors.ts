/** Every error the contracts package raises (its validators answer with results; these are its tools'). */
import { CodedError, type CodedErrorInit } from './coded-error.js';

export type ContractErrorCode =
  /** README.md lacks a block the export regenerates (`<!-- generated:… -->`). */
  'CONTRACT_ERR_README';

export class ContractError extends CodedError<ContractErrorCode> {
  override readonly name = 'ContractError';

  constructor(code: ContractErrorCode, message: string, init: CodedErrorInit = {}) {
    super(code, message, false, init);
  }
}
