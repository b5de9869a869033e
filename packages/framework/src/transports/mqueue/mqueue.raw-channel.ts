import { MessageQueue } from '@hostmesh/native';
import type { RawChannel, RawChannelFactory } from '../contract/plugin';

/** Raw bytes in a subscriber's queue: each write is one queue message, as it is (no framing, no checks). */
export const mqueueRawChannel: RawChannelFactory = async (address) => {
  if (address.kind !== 'mqueue' || typeof address.queue !== 'string') throw new TypeError(`the mqueue raw channel cannot reach a ${address.kind} address`);
  const queue = MessageQueue.open(address.queue);
  // Queues have no connection to drop: `closed` is when this side closes.
  let closed: () => void = () => undefined;
  const channel: RawChannel = {
    write: (bytes) => {
      if (!queue.send(bytes)) throw new Error('queue full');
    },
    closed: new Promise<void>((resolve) => (closed = resolve)),
    close: () => {
      queue.close();
      closed();
    },
  };
  return channel;
};
