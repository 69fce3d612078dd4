import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';

/** What commands changed at run time and must survive a restart. */
export interface AgentState {
  /** Interval set by `set_sample_interval`. */
  sampleSec: number;
  /** The config's interval when it was set: if the config changed since, the config wins. */
  configSampleSec: number;
}

const file = (dir: string, deviceId: string) => join(dir, `${deviceId}.agent-state.json`);

export async function loadAgentState(dir: string, deviceId: string): Promise<AgentState | undefined> {
  try {
    const v = JSON.parse(await readFile(file(dir, deviceId), 'utf8')) as Partial<AgentState>;
    return Number.isInteger(v.sampleSec) && Number.isInteger(v.configSampleSec) ? (v as AgentState) : undefined;
  } catch {
    return undefined;
  }
}

export function saveAgentState(dir: string, deviceId: string, state: AgentState): Promise<void> {
  return writeFileAtomic(file(dir, deviceId), `${JSON.stringify(state)}\n`);
}
