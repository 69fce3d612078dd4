/** Public surface of @tsunagaru/simulators. */
export { startFleet, FleetConfigError, type Fleet, type FleetStats, type StartFleetOptions } from './fleet.js';
export { defaultFleet, type AttributeValue, type FleetDeviceSpec, type FleetDeviceSpecOf, type FleetSpec, type GeoLocation } from './fleet-spec.js';
export { createModel } from './create-model.js';
export type { DeviceModel, ModelBase, ModelEvent, ModelStep } from './model.js';
export { SmartPoleModel, footfallShare, type SmartPoleConfig, type SmartPoleOptions } from './smart-pole.js';
export { WaterMeterModel, householdDemandLph, type WaterMeterConfig, type WaterMeterOptions } from './water-meter.js';
export { BsPowerModel, type BsPowerConfig, type BsPowerOptions } from './bs-power.js';
export { CHEMISTRIES, peukertAh, type BatteryChemistry, type ChemistryProfile } from './battery.js';
export { RingNodeModel, type RingNodeConfig, type RingNodeOptions, type SegmentFault } from './ring-node.js';
export { DEFAULT_RING_TOPOLOGY, segmentsAt, type RingSegmentSpec, type RingTopology } from './ring-topology.js';
export { Rng, mulberry32, deriveSeed } from './rng.js';
export { RegisterServer, type RegisterServerOptions, type ServerFault } from './modbus/register-server.js';
export { ModbusDevice, type ModbusDeviceOptions, type ModbusDeviceSpec } from './modbus/modbus-device.js';
export { headEndLayout, runHeadEnds, type HeadEndRun, type HeadEndSpec, type HeadEndStats, type RunHeadEndsOptions } from './headend.js';
export { basePowerPlants, cityFleet, izuRingNodes, nishiShinjukuPoles, waterDistrict, type DistrictOptions } from './city-fleet.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
