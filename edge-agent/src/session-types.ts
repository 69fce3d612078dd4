/** Types of the DeviceSession's public API. */
import type { EdgeAgentError } from './errors.js';

export type SessionState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Connection changes and errors after start(); start() itself reports its failures by rejecting. */
export type SessionEvent =
  | { kind: 'connected'; reconnect: boolean }
  | { kind: 'disconnected' }
  | { kind: 'error'; error: EdgeAgentError };

export interface PublishOptions {
  /** Marks samples buffered while offline (contract v1, "Envelope": `replay`). */
  replay?: boolean;
}

export interface StopOptions {
  /** true (default): publish the death and DISCONNECT. false: drop the socket so the broker sends the will. */
  graceful?: boolean;
}

export interface StartOptions {
  /**
   * true (default): start() resolves once connected and the birth is acknowledged, or rejects.
   * false: start() resolves as soon as the boot is taken; the session connects (and reconnects) in the
   * background, reporting failures as 'error' events. For devices that must work offline from power-on.
   */
  waitForConnection?: boolean;
}
