/** Every suite `npm run bench` knows, in the order they run; BENCH_SUITES picks by id. */
import type { Suite } from '../lib/types.js';
import { brokerFanIn } from './broker-fan-in.js';
import { cityScale } from './city-scale.js';
import { connections } from './connections.js';
import { floods } from './floods.js';
import { history } from './history.js';
import { ingestE2e } from './ingest-e2e.js';

export const SUITES: readonly Suite[] = [brokerFanIn, connections, floods, ingestE2e, cityScale, history];
