import type { Suite } from '../lib/types.js';
export const connections: Suite = { id: 'connections', title: 'Connections', run: async () => { throw new Error('not yet'); } };
