/** Test helpers shared by packages that exercise devices against a real broker (not for production code). */
export { startTestBroker, type TestBroker } from './aedes-broker.js';
export { collectMessages, type CollectedMessage, type MessageCollector } from './collector.js';
