/**
 * LoRaWAN sessions → the ledger's (boot, seq). A meter's uplink frame counter (fCnt) starts at 0 after
 * every OTAA join and counts every uplink, so it is the contract's `seq`, and each join starts a new
 * `boot`: a hole in fCnt is a frame lost on the radio, at a gateway or on the way (the ledger counts it).
 *
 * - A join event is counted once (ChirpStack's deduplicationId): a redelivered join keeps its boot.
 * - An uplink belongs to the latest session that joined at or before its time, so a late batch (a gateway
 *   that was cut off forwards frames minutes later) is counted in the session it was sent in.
 * - A meter first heard mid-session (joined before Tsunagaru listened, or ABP without joins) gets a session
 *   whose seq counts from the first frame heard (`fcntBase`), so the frames before Tsunagaru existed are
 *   not reported as lost.
 * Sessions are saved (IntegrationStateStore) before the message they number is journalled.
 */
export interface LoraSession {
  boot: number;
  /** Epoch ms of the join; null for a session first heard through an uplink. */
  joinedAt: number | null;
  /** ChirpStack's deduplicationId of the join. */
  joinId: string | null;
  /** fCnt that is seq 0 in this session: 0 after a join, else the first frame heard. */
  fcntBase: number;
}

export interface LoraStatus {
  /** Battery %, or null: on external power, or the meter cannot tell (batteryLevelUnavailable). */
  batteryPct: number | null;
  externalPower: boolean;
  /** Demodulation margin (SNR) of the meter's last DevStatusReq, dB. */
  marginDb: number;
  at: number;
}

export interface LoraDeviceState {
  devEui: string;
  applicationId: string;
  /** ChirpStack's device profile of the meter's latest event: its mapping encodes the meter's commands. */
  deviceProfileName?: string;
  /** Oldest first; the last SESSION_HISTORY are kept. */
  sessions: LoraSession[];
  status?: LoraStatus;
}

export const SESSION_HISTORY = 16;

export type SessionVerdict =
  | { kind: 'same'; session: LoraSession }
  | { kind: 'new'; session: LoraSession }
  | { kind: 'refused'; reason: string };

/** What a join means for this meter's sessions (no change is made; see apply). */
export function judgeJoin(state: LoraDeviceState | undefined, joinId: string, at: number): SessionVerdict {
  const sessions = state?.sessions ?? [];
  const known = sessions.find((s) => s.joinId === joinId);
  if (known) return { kind: 'same', session: known };
  const latest = sessions.at(-1);
  if (latest && latest.joinedAt !== null && at < latest.joinedAt) {
    return { kind: 'refused', reason: `join at ${new Date(at).toISOString()} is older than the meter's latest join (${new Date(latest.joinedAt).toISOString()}); boots only go forward, so it is not counted` };
  }
  return { kind: 'new', session: { boot: latest ? latest.boot + 1 : 0, joinedAt: at, joinId, fcntBase: 0 } };
}

/** Which session an uplink of time `at` with frame counter `fCnt` belongs to, and its seq there. */
export function judgeUplink(state: LoraDeviceState | undefined, fCnt: number, at: number): { verdict: SessionVerdict; seq?: number } {
  const sessions = state?.sessions ?? [];
  if (sessions.length === 0) {
    const session = { boot: 0, joinedAt: null, joinId: null, fcntBase: fCnt };
    return { verdict: { kind: 'new', session }, seq: 0 };
  }
  let session: LoraSession | undefined;
  for (let i = sessions.length - 1; i >= 0; i--) {
    const s = sessions[i]!;
    if (s.joinedAt === null || s.joinedAt <= at) {
      session = s;
      break;
    }
  }
  if (!session) {
    return { verdict: { kind: 'refused', reason: `uplink at ${new Date(at).toISOString()} is older than every session Tsunagaru knows for this meter (first join ${new Date(sessions[0]!.joinedAt!).toISOString()})` } };
  }
  if (fCnt < session.fcntBase) {
    return { verdict: { kind: 'refused', reason: `fCnt ${fCnt} is below ${session.fcntBase}, the first frame Tsunagaru heard in boot ${session.boot}: a frame from before Tsunagaru listened` } };
  }
  return { verdict: { kind: 'same', session }, seq: fCnt - session.fcntBase };
}

/** The state with a new session added (oldest dropped past SESSION_HISTORY). */
export function withSession(state: LoraDeviceState | undefined, base: Pick<LoraDeviceState, 'devEui' | 'applicationId' | 'deviceProfileName'>, session: LoraSession): LoraDeviceState {
  const sessions = [...(state?.sessions ?? []), session].slice(-SESSION_HISTORY);
  return { ...(state ?? {}), ...base, sessions };
}
