import { messageBufferContract } from './buffer.contract.js';
import { MemoryBuffer } from './memory-buffer.js';

messageBufferContract('MemoryBuffer', async (options) => {
  const b = new MemoryBuffer(options);
  await b.open();
  return b;
});
