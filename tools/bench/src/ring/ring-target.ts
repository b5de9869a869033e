import { ShmChannel } from '@hostmesh/native';
import type { BenchTarget } from '../targets';

/** The near end of the ring ping-pong: replies come back in order, one per message. */
export function ringTarget(name: string, capacity: number): BenchTarget & { channel: ShmChannel } {
  const waiting: Array<() => void> = [];
  let head = 0;
  let onReply: (() => void) | null = null;
  const channel = ShmChannel.create(name, {
    capacity,
    onMessage: () => {
      if (onReply !== null) return onReply();
      const wake = waiting[head++]!;
      if (head === waiting.length) {
        waiting.length = 0;
        head = 0;
      }
      wake();
    },
  });
  const sendWhenWritable = async (payload: Buffer): Promise<void> => {
    while (!channel.send(payload)) await channel.whenWritable(payload.length);
  };
  return {
    name: 'shm ring',
    channel,
    roundTrip: (payload) =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (!channel.send(payload)) void sendWhenWritable(payload);
      }),
    pump: (payload, inFlight, total) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let received = 0;
        const send = () => {
          sent++;
          if (!channel.send(payload)) throw new Error('ring full: raise the capacity for this many in flight');
        };
        onReply = () => {
          if (++received === total) {
            onReply = null;
            resolve();
          } else if (sent < total) send();
        };
        for (let i = 0; i < inFlight && sent < total; i++) send();
      }),
    close: async () => channel.close(),
  };
}
