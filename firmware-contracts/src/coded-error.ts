/**
 * The one error template of every package (style: edge-agent/src/errors.ts, fastify's lib/errors.js,
 * influxdb-client-js `canRetry()`): a stable code with the package's prefix, which callers branch on (never
 * on the text); whether the same call can succeed later without a change (`canRetry()`); and details, one
 * line each (every problem of a config, every field a message broke). Messages are for the operator.
 */
export interface CodedErrorInit {
  cause?: unknown;
  /** One line per problem. */
  details?: readonly string[];
  /** Overrides the code's default: a 503 from a store is worth retrying, a 400 from it is not. */
  canRetry?: boolean;
}

export abstract class CodedError<C extends string> extends Error {
  readonly code: C;
  readonly details: readonly string[];
  private readonly retry: boolean;

  protected constructor(code: C, message: string, canRetryByDefault: boolean, init: CodedErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.details = init.details ?? [];
    this.retry = init.canRetry ?? canRetryByDefault;
  }

  /** True when the same call may succeed later without a change of configuration or input. */
  canRetry(): boolean {
    return this.retry;
  }
}
