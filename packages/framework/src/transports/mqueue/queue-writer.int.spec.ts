import { MessageQueue, objectName } from '@hostmesh/native';
import { ServiceUnavailableError } from '../../core/errors/errors';
import { encodeStatelessFrame } from '../../protocol/codec';
import { FrameKind, frameId, HEADER_BYTES } from '../../protocol/frame';
import { QueueWriterConnection } from './queue-writer.connection';

const namespace = `writer-${process.pid}`;
let counter = 0;
const frame = (seq: number) => encodeStatelessFrame(FrameKind.Event, seq, 1, ['id', seq], 1024);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The ids of every frame in `queue` (a message holds one or more), in order; no message over `maxBytes`. */
function drain(queue: MessageQueue, maxBytes = Infinity): number[] {
  const ids: number[] = [];
  for (let got = queue.receive(); got !== null; got = queue.receive()) {
    expect(got.message.length).toBeLessThanOrEqual(maxBytes);
    for (let offset = 0; offset < got.message.length; offset += HEADER_BYTES + got.message.readUInt32LE(offset + 12)) ids.push(frameId(got.message, offset));
  }
  return ids;
}

describe('a publisher writing to a queue that was replaced (real POSIX queues)', () => {
  const names: string[] = [];
  const newName = () => {
    const name = objectName(namespace, `q${counter++}`);
    names.push(name);
    return name;
  };
  afterAll(() => {
    for (const name of names) {
      try {
        MessageQueue.unlink(name);
      } catch {
        // removed by the test
      }
    }
  });

  function writerFor(name: string): { writer: QueueWriterConnection; errors: Error[]; closed: () => boolean } {
    const writer = new QueueWriterConnection(MessageQueue.open(name), namespace);
    const errors: Error[] = [];
    let closed = false;
    writer.bind({ onFrame: () => undefined, onProtocolError: (error) => errors.push(error), onClose: () => (closed = true) });
    return { writer, errors, closed: () => closed };
  }

  it('carries what it sent into the old queue over to the new one, first, and writes on there', async () => {
    const name = newName();
    MessageQueue.create(name, { maxMessages: 10, messageSize: 256 }).close();
    const { writer } = writerFor(name);
    for (const seq of [1, 2]) {
      writer.write(frame(seq));
      await tick(); // one queue message each
    }
    MessageQueue.unlink(name); // a purge…
    const replacement = MessageQueue.create(name, { maxMessages: 10, messageSize: 256 }); // …and a new subscriber start
    expect(writer.revalidate()).toBe('replaced');
    writer.write(frame(3));
    await tick();
    expect(drain(replacement)).toEqual([1, 2, 3]);
    expect(writer.revalidate()).toBe('same'); // still the right one
    writer.close();
    replacement.close();
  });

  it('notices by itself when the old queue fills: nobody reads it any more', async () => {
    const name = newName();
    MessageQueue.create(name, { maxMessages: 2, messageSize: 256 }).close();
    const { writer } = writerFor(name);
    MessageQueue.unlink(name);
    const replacement = MessageQueue.create(name, { maxMessages: 10, messageSize: 256 });
    for (const seq of [1, 2, 3, 4]) {
      writer.write(frame(seq));
      await tick();
    }
    expect(drain(replacement)).toEqual([1, 2, 3, 4]);
    writer.close();
    replacement.close();
  });

  it('ends the connection with ServiceUnavailableError when the queue was removed for good', async () => {
    const name = newName();
    MessageQueue.create(name, { maxMessages: 10, messageSize: 256 }).close();
    const { writer, errors, closed } = writerFor(name);
    MessageQueue.unlink(name);
    expect(writer.revalidate()).toBe('ended');
    expect(errors).toEqual([expect.any(ServiceUnavailableError)]);
    expect(errors[0]!.message).toContain('was removed');
    expect(closed()).toBe(true);
  });

  it('ends the connection, without throwing, when the queue it fills was removed for good', async () => {
    const name = newName();
    MessageQueue.create(name, { maxMessages: 1, messageSize: 256 }).close();
    const { writer, errors, closed } = writerFor(name);
    writer.write(frame(1));
    await tick();
    MessageQueue.unlink(name);
    writer.write(frame(2)); // finds the orphan full, and its name gone
    await tick();
    expect(errors).toEqual([expect.any(ServiceUnavailableError)]);
    expect(closed()).toBe(true);
  });

  it('batches again for a new queue with smaller messages', async () => {
    const name = newName();
    MessageQueue.create(name, { maxMessages: 10, messageSize: 1024 }).close();
    const { writer } = writerFor(name);
    for (let seq = 1; seq <= 30; seq++) writer.write(frame(seq)); // one tick: a few large batches
    await tick();
    MessageQueue.unlink(name);
    const replacement = MessageQueue.create(name, { maxMessages: 10, messageSize: 128 });
    expect(writer.revalidate()).toBe('replaced');
    await tick();
    expect(drain(replacement, 128)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    writer.close();
    replacement.close();
  });
});
