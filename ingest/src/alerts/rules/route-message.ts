import type { BsPowerSample, ContractMessage, RingNodeSample, SmartPoleSample, WaterMeterSample } from '@tsunagaru/firmware-contracts';
import type { StateVerdict } from '../types.js';
import { onBsPowerEvent, onBsPowerSamples } from './bs-power.js';
import type { RuleContext } from './context.js';
import { onDeviceHeard, onDeviceState } from './device-status.js';
import { onRingEvent, onRingNodeBirth, onRingSamples } from './ring.js';
import { onPoleEvent, onPoleSamples } from './smart-pole.js';
import { onWaterEvent, onWaterSamples } from './water.js';

/**
 * Routes one message to the rules of its device type: an accepted reading, or a birth or death with the
 * store's verdict on it. Replayed messages (contract v1 "Envelope": `replay: true`) prove the device is
 * talking but raise nothing on their own: their samples are old, and what is still current is re-sent live.
 */
export function routeMessage(rc: RuleContext, m: ContractMessage, state?: StateVerdict): void {
  if (m.channel === 'state') {
    if (state && !state.stale) onDeviceState(rc, m.deviceId, m.type, state.online);
    if (m.payload.state === 'online') {
      onDeviceHeard(rc, m.deviceId, m.type);
      if (m.type === 'ring-node') onRingNodeBirth(rc, m.deviceId, m.payload.sampleSec);
    }
    return;
  }
  if (m.channel !== 'telemetry' && m.channel !== 'event') return;
  onDeviceHeard(rc, m.deviceId, m.type);
  if (m.payload.replay === true) return;
  if (m.channel === 'event') {
    const { type, ts, detail } = m.payload;
    if (m.type === 'bs-power') onBsPowerEvent(rc, m.deviceId, type, ts);
    else if (m.type === 'smart-pole') onPoleEvent(rc, m.deviceId, type, ts);
    else if (m.type === 'water-meter') onWaterEvent(rc, m.deviceId, type);
    else if (m.type === 'ring-node') onRingEvent(rc, m.deviceId, type, ts, detail);
    return;
  }
  const samples = m.payload.samples;
  switch (m.type) {
    case 'bs-power':
      return onBsPowerSamples(rc, m.deviceId, samples as BsPowerSample[]);
    case 'smart-pole':
      return onPoleSamples(rc, m.deviceId, samples as SmartPoleSample[]);
    case 'water-meter':
      return onWaterSamples(rc, m.deviceId, samples as WaterMeterSample[]);
    case 'ring-node':
      return onRingSamples(rc, m.deviceId, samples as RingNodeSample[]);
  }
}
