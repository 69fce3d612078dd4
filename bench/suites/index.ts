/** Every suite `npm run bench` knows, in the order they run; BENCH_SUITES picks by id. */
import type { Suite } from '../lib/types.js';
import { brokerFanIn } from './broker-fan-in.js';
import { connections } from './connections.js';

export const SUITES: readonly Suite[] = [brokerFanIn, connections];
