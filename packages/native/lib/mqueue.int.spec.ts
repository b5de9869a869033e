import { uniqueName, startFixture } from './__fixtures__/child-process';
import { fstatSync } from 'node:fs';
import { MessageQueue, QueueLimitError } from './mqueue';
import { listQueues } from './mqueue-list';
import { PosixError } from './posix-error';

describe('MessageQueue', () => {
  const queues: MessageQueue[] = [];
  const create = (label: string, maxMessages = 10, messageSize = 256) => {
    const queue = MessageQueue.create(uniqueName(label), { maxMessages, messageSize, exclusive: true });
    queues.push(queue);
    return queue;
  };
  afterAll(() => {
    for (const queue of queues) {
      queue.close();
      try {
        MessageQueue.unlink(queue.name);
      } catch {
        // unlinked by the test
      }
    }
  });

  it('delivers what another process sent, highest priority first', async () => {
    const queue = create('priority');
    const child = startFixture('mq-sender', [queue.name, '3', '31', '0', '17', '17', '5']);
    await child.waitFor('sent 6');
    const received: Array<[string, number]> = [];
    for (let message = queue.receive(); message; message = queue.receive()) received.push([message.message.toString(), message.priority]);
    expect(received).toEqual([
      ['priority 31', 31],
      ['priority 17', 17],
      ['priority 17', 17],
      ['priority 5', 5],
      ['priority 3', 3],
      ['priority 0', 0],
    ]);
  });

  it('turns arrival into an event on the loop, without a thread', async () => {
    const queue = create('events');
    const received: string[] = [];
    queue.onMessage((message, priority) => received.push(`${message.toString()}/${priority}`));
    startFixture('mq-sender', [queue.name, '1', '2']);
    const deadline = Date.now() + 10_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received.sort()).toEqual(['priority 1/1', 'priority 2/2']);
    queue.pause();
  });

  it('says full instead of blocking, and tells when there is room again', async () => {
    const queue = create('full', 2, 16);
    expect(queue.send(Buffer.from('a'))).toBe(true);
    expect(queue.send(Buffer.from('b'))).toBe(true);
    expect(queue.send(Buffer.from('c'))).toBe(false);
    expect(queue.attributes()).toEqual({ maxMessages: 2, messageSize: 16, currentMessages: 2 });
    const writable = queue.whenWritable();
    setTimeout(() => queue.receive(), 20);
    await writable;
    expect(queue.send(Buffer.from('c'))).toBe(true);
  });

  it('refuses a message larger than the queue takes, before the system call', () => {
    const queue = create('size', 2, 16);
    expect(() => queue.send(Buffer.alloc(17))).toThrow("message of 17 bytes exceeds the queue's message size of 16 bytes");
    expect(() => queue.send(Buffer.alloc(1), 32)).toThrow('priority must be between 0 and 31, got 32');
  });

  it('names fs.mqueue.msg_max and the value needed when the kernel refuses the depth', () => {
    const { msgMax } = MessageQueue.limits();
    expect(msgMax).toBeGreaterThan(0);
    const depth = msgMax! + 54;
    const error = (() => {
      try {
        create('deep', depth, 64);
      } catch (e) {
        return e;
      }
    })();
    // A process with CAP_SYS_RESOURCE may exceed the limit; this machine's root may not.
    if (error === undefined) return;
    expect(error).toBeInstanceOf(QueueLimitError);
    expect(error).toMatchObject({ sysctl: 'fs.mqueue.msg_max', needed: depth, current: msgMax });
    expect((error as Error).message).toContain(`raise it (sysctl -w fs.mqueue.msg_max=${depth}) or ask for at most ${msgMax}`);
  });

  it('names fs.mqueue.msgsize_max when the message size is refused', () => {
    const { msgsizeMax } = MessageQueue.limits();
    const size = msgsizeMax! * 2;
    const error = (() => {
      try {
        create('wide', 2, size);
      } catch (e) {
        return e;
      }
    })();
    if (error === undefined) return; // allowed: this process has CAP_SYS_RESOURCE
    expect(error).toBeInstanceOf(QueueLimitError);
    expect(error).toMatchObject({ sysctl: 'fs.mqueue.msgsize_max', needed: size, current: msgsizeMax });
    expect((error as Error).message).toContain(`exceeds fs.mqueue.msgsize_max=${msgsizeMax}; raise it (sysctl -w fs.mqueue.msgsize_max=${size})`);
  });

  it('reports a missing queue as PosixError ENOENT', () => {
    const name = uniqueName('absent');
    expect(() => MessageQueue.open(name)).toThrow(PosixError);
    expect(() => MessageQueue.open(name)).toThrow(`mq_open ${name}: No such file or directory (ENOENT)`);
  });
  it('is created 0600 and owned by this user, as its own descriptor shows (no /dev/mqueue needed)', () => {
    const umask = process.umask(0); // a mode that came from the umask would show as 0666
    try {
      const stat = fstatSync(create('mode').fd);
      expect([stat.mode & 0o777, stat.uid]).toEqual([0o600, process.getuid!()]);
    } finally {
      process.umask(umask);
    }
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot.each([
    ['wherever the mqueue filesystem is', {}],
    ['through a private mount namespace when none is mounted', { privateMount: true }],
  ])('lists the queues with owner and mode %s, and a removed one no more', (_how, options) => {
    const queue = create('listed');
    const listed = () => {
      const listing = listQueues(options);
      if (!listing.ok) throw new Error(listing.reason);
      return listing.queues.filter((entry) => entry.name === queue.name);
    };
    expect(listed()).toEqual([{ name: queue.name, uid: process.getuid!(), mode: 0o600 }]);
    MessageQueue.unlink(queue.name);
    expect(listed()).toEqual([]);
  });
});
