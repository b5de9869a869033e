import { Dealer } from 'zeromq';
import type { BenchTarget } from '../targets';

/**
 * zeromq.js (libzmq) Dealer → Router over ipc://<path>, a Unix socket. The payload is one
 * binary frame, sent as is (no encoding); the reply is a Buffer.
 *
 * Replies are matched to requests in order: one Dealer connected to one Router is a
 * single pipe each way and the server answers in the order it receives, so a FIFO of
 * waiters needs no correlation frame, and any number can be in flight.
 *
 * zeromq.js allows one pending send() at a time (a second one while the first waits at
 * the high-water mark is rejected with EBUSY), so sends go through a small outbox.
 */
export async function zeromqTarget(path: string): Promise<BenchTarget> {
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(`ipc://${path}`);
  const waiting: Array<{ resolve: (reply: Buffer) => void; reject: (error: Error) => void }> = [];
  let head = 0;
  const outbox: Buffer[] = [];
  let sending = false;
  let broken: Error | undefined;
  const fail = (error: Error) => {
    broken ??= error;
    for (let i = head; i < waiting.length; i++) waiting[i]!.reject(broken);
    waiting.length = 0;
    head = 0;
    outbox.length = 0;
  };
  const flush = async () => {
    sending = true;
    try {
      for (let next = outbox.shift(); next !== undefined; next = outbox.shift()) await dealer.send(next);
    } catch (error) {
      fail(error as Error);
    } finally {
      sending = false;
    }
  };
  void (async () => {
    try {
      for await (const [reply] of dealer) {
        const waiter = waiting[head++];
        if (head === waiting.length) {
          waiting.length = 0;
          head = 0;
        }
        waiter?.resolve(reply!);
      }
      fail(new Error('zeromq dealer closed'));
    } catch (error) {
      fail(error as Error);
    }
  })();
  return {
    name: 'zeromq ipc',
    objectUnsupported: 'zeromq moves frames of bytes and has no encoding of objects; its users bring their own (JSON, msgpack…)',
    roundTrip: (payload) =>
      new Promise<Buffer>((resolve, reject) => {
        if (broken) return reject(broken);
        waiting.push({ resolve, reject });
        outbox.push(payload);
        if (!sending) void flush();
      }),
    close: async () => {
      dealer.close();
      fail(new Error('zeromq target closed'));
    },
  };
}
