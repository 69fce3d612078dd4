import type { RegisterMap } from '@tsunagaru/firmware-contracts';
import { BsPowerModel, type BsPowerOptions } from '../bs-power.js';
import type { DeviceModel } from '../model.js';
import { deriveSeed, mulberry32 } from '../rng.js';
import { SmartPoleModel, type SmartPoleOptions } from '../smart-pole.js';
import { RegisterServer } from './register-server.js';
import { SimulatorError } from '../errors.js';

export type ModbusDeviceSpec =
  | { type: 'bs-power'; id: string; simulation?: BsPowerOptions }
  | { type: 'smart-pole'; id: string; simulation?: SmartPoleOptions };

export interface ModbusDeviceOptions {
  spec: ModbusDeviceSpec;
  /** The register map to serve; its deviceType must match the spec. */
  map: RegisterMap;
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Simulated seconds between model steps. Default 1: the registers change the way a live controller's do. */
  stepSec?: number;
  /** Time acceleration, simulated seconds per real second. Default 1. */
  speed?: number;
  /** Default 1. */
  seed?: number;
  /** Share of requests answered with exception 11 (gateway target failed to respond), 0–1. Default 0. */
  faultRate?: number;
  /** Wall clock, epoch ms. Default Date.now. */
  clock?: () => number;
}

/** A generator test run as the controller does it: crank, run for five minutes, stop. */
const GENERATOR_TEST = { startingMs: 10_000, runningMs: 300_000 };

/**
 * A simulated controller behind Modbus TCP: a device model (the same as the MQTT fleet's) stepped on its
 * own clock, its readings written into the register map every step. `generator_test` coil writes start
 * a test run on a bs-power plant; `hold()` pins readings (a test forcing mains off, a door open).
 */
export class ModbusDevice {
  private readonly model: DeviceModel<'bs-power' | 'smart-pole'>;
  private readonly timer: NodeJS.Timeout;
  private readonly simStart: number;
  private readonly realStart: number;
  private held: Record<string, unknown> = {};
  private generatorTestSince: number | undefined;
  private lastTs = 0;

  private constructor(
    readonly server: RegisterServer,
    private readonly o: ModbusDeviceOptions,
  ) {
    const base = { seed: deriveSeed(o.seed ?? 1, o.spec.id), sampleSec: o.stepSec ?? 1 };
    this.model = o.spec.type === 'bs-power' ? new BsPowerModel({ ...o.spec.simulation, ...base }) : new SmartPoleModel({ ...o.spec.simulation, ...base });
    this.realStart = this.clock();
    this.simStart = this.realStart;
    this.step();
    this.timer = setInterval(() => this.step(), ((o.stepSec ?? 1) * 1000) / (o.speed ?? 1));
    this.timer.unref();
  }

  static async start(o: ModbusDeviceOptions): Promise<ModbusDevice> {
    if (o.map.deviceType !== o.spec.type) throw new SimulatorError('SIM_ERR_MODBUS', `map "${o.map.name}" is for ${o.map.deviceType}, not ${o.spec.type}`);
    const random = mulberry32(deriveSeed(o.seed ?? 1, `${o.spec.id}/faults`));
    const rate = o.faultRate ?? 0;
    let device: ModbusDevice | undefined;
    const testAction = o.map.actions?.generator_test;
    const server = await RegisterServer.start({
      map: o.map,
      ...(o.host ? { host: o.host } : {}),
      ...(o.port ? { port: o.port } : {}),
      ...(rate > 0 ? { fault: () => (random() < rate ? { exception: 11 } : undefined) } : {}),
      onWrite: (table, address, value) => {
        if (testAction && table === testAction.table && address === testAction.address && value === testAction.value) device?.startGeneratorTest();
      },
    });
    device = new ModbusDevice(server, o);
    return device;
  }

  get port(): number {
    return this.server.port;
  }

  /** Simulated time now, epoch ms. */
  simNow(): number {
    return this.simStart + (this.clock() - this.realStart) * (this.o.speed ?? 1);
  }

  /** Pins readings over the model's until `release()`; applied at once. */
  hold(readings: Record<string, unknown>): void {
    this.held = { ...this.held, ...readings };
    this.server.setReadings(this.held);
  }

  release(...names: string[]): void {
    for (const n of names) delete this.held[n];
    this.step();
  }

  /** Advances the model to now and writes its readings (and any held ones) into the registers. */
  step(): void {
    const ts = Math.max(this.lastTs, Math.floor(this.simNow()));
    this.lastTs = ts;
    const { sample } = this.model.step(ts);
    const readings: Record<string, unknown> = { ...sample };
    const generator = this.generatorState(ts);
    if (generator) readings.generator = generator;
    this.server.setReadings({ ...readings, ...this.held });
  }

  private startGeneratorTest(): void {
    this.generatorTestSince = this.simNow();
    this.step();
  }

  private generatorState(ts: number): string | undefined {
    if (this.generatorTestSince === undefined) return undefined;
    const t = ts - this.generatorTestSince;
    if (t < GENERATOR_TEST.startingMs) return 'starting';
    if (t < GENERATOR_TEST.startingMs + GENERATOR_TEST.runningMs) return 'running';
    this.generatorTestSince = undefined;
    const action = this.o.map.actions?.generator_test;
    if (action?.table === 'coil') this.server.bits.coil.set(action.address, false);
    return 'off';
  }

  private clock(): number {
    return (this.o.clock ?? Date.now)();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.server.close();
  }
}
