import { MessageQueue, objectName } from '@hostmesh/native';
import { ServiceUnavailableError } from '../../errors/errors';
import { encodeStatelessFrame } from '../../protocol/codec';
import { FrameKind, frameId } from '../../protocol/frame';
import { QueueWriterConnection } from './queue-writer.connection';

const namespace = `writer-${process.pid}`;
let counter = 0;
const frame = (seq: number) => encodeStatelessFrame(FrameKind.Event, seq, 1, ['id', seq], 1024);
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Everything in `queue`, as the sequence numbers of the frames' ids. */
function drain(queue: MessageQueue): number[] {
  const ids: number[] = [];
  for (let got = queue.receive(); got !== null; got = queue.receive()) ids.push(frameId(got.message, 0));
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
    expect(writer.revalidate()).toBe(true);
    writer.write(frame(3));
    await tick();
    expect(drain(replacement)).toEqual([1, 2, 3]);
    expect(writer.revalidate()).toBe(false); // still the right one
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
    expect(writer.revalidate()).toBe(false);
    expect(errors).toEqual([expect.any(ServiceUnavailableError)]);
    expect(errors[0]!.message).toContain('was removed');
    expect(closed()).toBe(true);
  });
});
