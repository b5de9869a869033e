import { MessageQueue, ShmSegment } from '@hostmesh/native';
import { ConsoleLogger } from '../../core/logger';
import { encodeStatelessFrame } from '../../protocol/codec';
import { frameId, FrameKind } from '../../protocol/frame';
import type { ConnectionHandler } from '../contract/transport';
import { InflightJournal } from './inflight-journal';
import { QueueReaderConnection } from './queue-reader.connection';

let counter = 0;
const name = (kind: string) => `/hm.${process.getuid!()}.queue-reader-spec-${process.pid}.${kind}${counter++}`;
const logger = new ConsoleLogger('spec', 'silent');

/** A queue message of event frames with ids `ids`, as a publisher batches them. */
const message = (ids: number[]) => Buffer.concat(ids.map((id) => encodeStatelessFrame(FrameKind.Event, id, 1, ['e', { id }], 1 << 20)));

/**
 * The subscriber's reader over a real queue and a real journal, with a handler that takes a
 * delivery hold per event (as the server does) and releases it when the test says.
 */
async function reader(queueName: string, journalName: string, ordered: boolean) {
  const queue = MessageQueue.create(queueName, { maxMessages: 8, messageSize: 4096 });
  const { journal } = await InflightJournal.open(journalName, 4, 4096);
  const connection = new QueueReaderConnection(queue, 1 << 20, journal, logger, 0, ordered);
  const seen: number[] = [];
  const holds = new Map<number, number>();
  const handler: ConnectionHandler = {
    onFrame(buffer, start) {
      const id = frameId(buffer, start);
      seen.push(id);
      holds.set(id, connection.hold());
    },
    onProtocolError(error) {
      throw error;
    },
    onClose() {},
  };
  connection.bind(handler);
  const finish = (id: number) => {
    connection.release(holds.get(id)!);
    holds.delete(id);
  };
  return { queue, connection, seen, finish };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('the event queue reader (a real POSIX queue and in-flight journal)', () => {
  const queues: string[] = [];
  const journals: string[] = [];
  const names = () => {
    const [q, j] = [name('q'), name('j')];
    queues.push(q);
    journals.push(j);
    return [q, j] as const;
  };
  afterAll(() => {
    for (const q of queues) {
      try {
        MessageQueue.unlink(q);
      } catch {
        // removed already
      }
    }
    for (const j of journals) ShmSegment.unlinkIfExists(j);
  });

  it('after a kill, delivers again only the events of a message whose handling had not finished', async () => {
    const [q, j] = names();
    const first = await reader(q, j, false);
    first.queue.send(message([1, 2, 3]));
    await settle();
    expect(first.seen).toEqual([1, 2, 3]);
    first.finish(1);
    first.finish(3);
    // Killed with event 2 running: nothing is released; the journal keeps the message.
    first.queue.close();
    const second = await reader(q, j, false);
    await settle();
    expect(second.seen).toEqual([2]);
    second.finish(2);
    second.connection.close();
  });

  it('on an ordered queue, replays what a previous run left one message at a time, oldest first, before reading anything new', async () => {
    const [q, j] = names();
    const first = await reader(q, j, true);
    first.queue.send(message([1, 2]));
    first.queue.send(message([3]));
    await settle();
    expect(first.seen).toEqual([1, 2, 3]);
    first.finish(1);
    first.queue.close();
    // The run ended with events 2 and 3 unfinished (two journal slots); then 4 was published.
    const publisher = MessageQueue.open(q);
    publisher.send(message([4]));
    publisher.close();
    const second = await reader(q, j, true);
    await settle();
    // The older message first, alone: 3 waits for it, and 4 stays in the queue.
    expect(second.seen).toEqual([2]);
    second.finish(2);
    await settle();
    expect(second.seen).toEqual([2, 3]);
    second.finish(3);
    await settle();
    expect(second.seen).toEqual([2, 3, 4]);
    second.finish(4);
    second.connection.close();
  });
});
