/**
 * Alert engine end to end, power and ring: devices publish over real MQTT to our aedes broker, the ingest
 * stores and evaluates, and the alerts are read back through the REST API. Time is a fake clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertRules } from '@tsunagaru/ingest';
import { T0 } from './support/device-client.js';
import { devicePublisher } from './support/publisher.js';
import { startStack, type Stack } from './support/stack.js';

describe('alerts: base-station power and the Izu ring, over MQTT', () => {
  let stack: Stack;
  let now = T0;
  let devices: ReturnType<typeof devicePublisher>;
  const provision: ReturnType<typeof devicePublisher>['provision'] = (...a) => devices.provision(...a);
  const publish = (id: string, samples: object[]) => devices.publish(id, samples);

  const alerts = async (query: string) => (await stack.api.get(`/api/v1/alerts?${query}`)).body.alerts as Array<Record<string, any>>;
  const objects = (list: Array<Record<string, any>>) => list.map((a) => a.object).sort();

  beforeAll(async () => {
    stack = await startStack({ clock: () => now, alertRules: parseAlertRules({ evaluateEverySec: 3600 }) });
    devices = devicePublisher(stack, () => now);
    await provision('ring-toshima', 'ring-node', { island: 'toshima' });
    await provision('ring-mikurajima', 'ring-node', { island: 'mikurajima' });
    await provision('bsp-city-vrla', 'bs-power', { site: 'shinjuku-ward-office', battery: 'vrla', targetHours: 24 });
    await provision('bsp-island-li', 'bs-power', { site: 'niijima-honson', island: 'niijima', battery: 'li-ion', targetHours: 72 });
  });
  afterAll(async () => {
    await devices?.close();
    await stack?.close();
  });

  it('one cut isolates nothing and is minor at most; two cuts isolate exactly the arc between them', async () => {
    await publish('ring-toshima', [{ segments: [{ id: 'oshima-toshima', state: 'up', rxDbm: -14 }, { id: 'toshima-niijima', state: 'down' }] }]);
    await publish('ring-mikurajima', [{ segments: [{ id: 'kozushima-mikurajima', state: 'up', rxDbm: -15 }, { id: 'mikurajima-miyakejima', state: 'up', rxDbm: -13 }] }]);
    expect(await alerts('type=ring-island-isolated')).toEqual([]);
    const oneCut = await alerts('group=disaster');
    expect(oneCut.map((a) => [a.rule, a.object, a.severity])).toEqual([['ring-segment-down', 'toshima-niijima', 'minor']]);
    expect((await stack.api.get('/api/v1/resilience')).body.ring.isolated).toEqual([]);

    now += 60_000;
    await publish('ring-mikurajima', [{ segments: [{ id: 'kozushima-mikurajima', state: 'down' }, { id: 'mikurajima-miyakejima', state: 'up', rxDbm: -13 }] }]);
    const isolated = await alerts('type=ring-island-isolated');
    expect(objects(isolated)).toEqual(['kozushima', 'niijima', 'shikinejima']);
    expect(isolated.every((a) => a.severity === 'critical' && a.deviceId === 'izu-ring')).toBe(true);
    const cuts = await alerts('type=ring-segment-down');
    expect(cuts.map((a) => [a.object, a.severity]).sort()).toEqual([['kozushima-mikurajima', 'major'], ['toshima-niijima', 'major']]);
    const ring = (await stack.api.get('/api/v1/resilience')).body.ring;
    expect(ring.isolated).toEqual(['niijima', 'shikinejima', 'kozushima']);
    expect(ring.segments.find((s: any) => s.id === 'toshima-niijima')).toMatchObject({ state: 'down', unprotected: true, reporters: { 'ring-toshima': { state: 'down' } } });

    // The Toshima–Niijima repair brings every island back: the isolation alerts clear.
    now += 60_000;
    await publish('ring-toshima', [{ segments: [{ id: 'oshima-toshima', state: 'up', rxDbm: -14 }, { id: 'toshima-niijima', state: 'up', rxDbm: -16 }] }]);
    expect(await alerts('type=ring-island-isolated')).toEqual([]);
    expect((await alerts('type=ring-island-isolated&state=cleared')).length).toBe(3);
    expect((await alerts('type=ring-segment-down')).map((a) => [a.object, a.severity])).toEqual([['kozushima-mikurajima', 'minor']]);
  });

  it('time to dark runs to the disconnect: worked cases at the rating current, with the right tiers', async () => {
    now += 60_000;
    // Domain notes: rated Ah are quoted down to the end voltage, so SoC 0 % is the disconnect; at the C10
    // current (capacity ÷ 10 h) Peukert's exponent changes nothing. 400 Ah at 40 A, half full: 5 h.
    const vrla = { mains: 'off', batterySocPct: 50, batteryCapacityAh: 400, batterySohPct: 100, batteryTempC: 25, loadA: 40, batteryA: -40, generator: 'off', backhaul: 'fiber' };
    // 300 Ah at 30 A, 8 % left: 0.08 × 10 h = 48 min.
    const li = { mains: 'off', batterySocPct: 8, batteryCapacityAh: 300, batterySohPct: 100, batteryTempC: 25, loadA: 30, batteryA: -30, backhaul: 'satellite' };
    await publish('bsp-city-vrla', [vrla]);
    await publish('bsp-island-li', [li]);
    const vrlaMin = 300;
    const liMin = 48;
    const sites = (await stack.api.get('/api/v1/resilience')).body.sites as Array<Record<string, any>>;
    const byId = new Map(sites.map((s) => [s.deviceId, s]));
    expect(byId.get('bsp-city-vrla')!.timeToDarkMin).toBe(vrlaMin);
    expect(byId.get('bsp-island-li')!.timeToDarkMin).toBe(liMin);
    expect(byId.get('bsp-island-li')).toMatchObject({ chemistry: 'li-ion', targetHours: 72, countingDown: true, meetsTarget: false });
    expect(sites.map((s) => s.deviceId)).toEqual(['bsp-island-li', 'bsp-city-vrla']); // shortest first

    const ttd = await alerts('type=time-to-dark');
    expect(Object.fromEntries(ttd.map((a) => [a.deviceId, a.severity]))).toEqual({ 'bsp-city-vrla': 'major', 'bsp-island-li': 'critical' });
    expect(objects(await alerts('type=mains-lost'))).toHaveLength(2);
    expect((await alerts('type=backhaul-satellite')).map((a) => a.deviceId)).toEqual([]); // on-delay 60 s
    now += 61_000;
    await stack.ingest.alerting.engine.tick();
    expect((await alerts('type=backhaul-satellite')).map((a) => a.deviceId)).toEqual(['bsp-island-li']);
  });

  it('alert state survives an ingest restart: still active and acknowledged, and later reports clear and update it', async () => {
    const [vrlaAlert] = await alerts('type=time-to-dark&deviceId=bsp-city-vrla');
    const ack = await stack.api.post(`/api/v1/alerts/${vrlaAlert!.id}/ack`, { comment: 'generator truck dispatched' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ acknowledged: true, comments: [{ text: 'generator truck dispatched' }] });

    await stack.restartIngest();
    const [after] = await alerts('type=time-to-dark&deviceId=bsp-city-vrla');
    expect(after).toMatchObject({ id: vrlaAlert!.id, state: 'active', severity: 'major', acknowledged: true });
    // The rules' own state (latest plant readings) came back too.
    const site = (await stack.api.get('/api/v1/resilience')).body.sites.find((s: any) => s.deviceId === 'bsp-city-vrla');
    expect(site.timeToDarkMin).toBeGreaterThan(100);

    const [mainsLost] = await alerts('type=mains-lost&deviceId=bsp-city-vrla');
    now += 60_000;
    await publish('bsp-city-vrla', [{ mains: 'on', batterySocPct: 95, loadA: 40, batteryA: 20 }]);
    expect((await stack.api.get(`/api/v1/alerts/${mainsLost!.id}`)).body).toMatchObject({ state: 'cleared' });
    // Back on mains the same alert steps down to a readiness warning: 9.5 h of backup is below the 24 h target.
    const [stepDown] = await alerts('type=time-to-dark&deviceId=bsp-city-vrla');
    expect(stepDown).toMatchObject({ id: vrlaAlert!.id, state: 'active', severity: 'warning', acknowledged: true, message: expect.stringContaining('if mains failed now') });
  });

  it('refuses bad requests with stable codes', async () => {
    expect((await stack.api.post('/api/v1/alerts/nope/ack', {})).body.code).toBe('INGEST_ERR_NOT_FOUND');
    const [li] = await alerts('type=time-to-dark&deviceId=bsp-island-li');
    expect((await stack.api.post(`/api/v1/alerts/${li!.id}/shelve`, { mode: 'timed' })).body).toMatchObject({ code: 'INGEST_ERR_BAD_REQUEST', message: expect.stringContaining('minutes') });
    expect((await stack.api.get('/api/v1/alerts?state=open')).body.code).toBe('INGEST_ERR_BAD_REQUEST');
  });
});
