import { describeTransportConformance } from '../../testing/conformance';
import { describeConnectionConformance } from '../../testing/connection-conformance';
import { registerRawChannel } from '../../testing/raw-channel';
import type { TransportAddress } from '../contract/transport';
import { ThreadTransport } from './thread.transport';

// Raw bytes on a thread connection, for the malformed-frame cases: a real rendezvous, then
// records written as they are (no framing, no checks).
registerRawChannel('thread', async (descriptor) => {
  const address = descriptor.listeners.thread as TransportAddress | undefined;
  if (address?.kind !== 'thread') throw new Error(`${descriptor.service} has no thread listener`);
  const transport = new ThreadTransport({ ringBytes: 1 << 16 }, { namespace: 'raw' });
  const connection = await transport.connect(address, { maxPayloadBytes: 1 << 20, timeoutMs: 5000 });
  const closed = new Promise<void>((resolve) => connection.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => resolve() }));
  return { write: (bytes) => connection.write(bytes), closed, close: () => connection.destroy() };
});

// Both levels here, so that `npx jest thread` shows them (plugins/transport-plugins.int.spec.ts
// runs the first for every plugin too): connections in this thread, then a service in a worker
// thread of this test process, called from here.
describeConnectionConformance('thread');
describeTransportConformance('thread');
