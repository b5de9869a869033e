import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { startFixture, uniqueName, type Child } from './__fixtures__/child-process';
import { findStaleObjects, removeStaleObjects } from './janitor';
import { watchProcessExit } from './process-watch';
import { doorbellPaths, ShmChannel } from './shm-channel';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Creates a channel here and an echo child that opens it; replies come back reversed. */
async function withEcho(capacity: number, onReply: (reply: Buffer) => void): Promise<{ channel: ShmChannel; child: Child }> {
  const name = uniqueName('echo');
  const channel = ShmChannel.create(name, {
    capacity,
    onMessage: (buffer, start, end) => onReply(Buffer.from(buffer.subarray(start, end))),
  });
  channels.push(channel);
  const child = startFixture('echo-channel', [name, 'open']);
  await child.waitFor(/^ready \d+$/);
  return { channel, child };
}

async function sendAll(channel: ShmChannel, messages: Buffer[]): Promise<void> {
  for (const message of messages) {
    while (!channel.send(message)) await channel.whenWritable(message.length);
  }
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

const channels: ShmChannel[] = [];

describe('ShmChannel between two processes', () => {
  const children: Child[] = [];
  afterAll(async () => {
    for (const channel of channels) channel.close();
    for (const child of children) await child.kill();
  });

  it('exchanges messages of random sizes through wrap-arounds and backpressure, every byte verified', async () => {
    const replies: Buffer[] = [];
    const { channel, child } = await withEcho(8192, (reply) => replies.push(reply));
    children.push(child);
    const messages = Array.from({ length: 3000 }, () => randomBytes(Math.floor(Math.random() * channel.maxMessageBytes)));
    await sendAll(channel, messages);
    await until(() => replies.length === messages.length);
    expect(replies.every((reply, i) => Buffer.from(messages[i]!).reverse().equals(reply))).toBe(true);
    expect(channel.stats.sent).toBe(3000);
    channel.close();
    expect(await child.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('never loses the wake-up of a writer waiting for room: largest messages, both rings full both ways', async () => {
    let replies = 0;
    const { channel, child } = await withEcho(16384, () => replies++);
    children.push(child);
    const message = randomBytes(channel.maxMessageBytes);
    const count = 20_000;
    await sendAll(
      channel,
      Array.from({ length: count }, () => message),
    );
    await until(() => replies === count, 30_000);
    expect(replies).toBe(count);
    channel.close();
    expect(await child.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('wakes a parked peer through its doorbell when messages are sparse', async () => {
    const replies: Buffer[] = [];
    const { channel, child } = await withEcho(1 << 16, (reply) => replies.push(reply));
    children.push(child);
    for (let i = 0; i < 5; i++) {
      await sleep(30); // long enough for both ends to stop spinning and park
      channel.send(Buffer.from(`sparse ${i}`));
      await until(() => replies.length === i + 1);
    }
    expect(replies.map(String)).toEqual([0, 1, 2, 3, 4].map((i) => `${i} esraps`));
    // The child had parked every time, so every message had to ring its doorbell.
    expect(channel.stats.doorbellsRung).toBeGreaterThanOrEqual(5);
    channel.close();
  }, 30_000);

  it('does not have the peer ring its doorbell for every reply while this end has calls in flight (64 at a time, as promises)', async () => {
    const waiting = new Map<string, () => void>();
    const { channel, child } = await withEcho(1 << 16, (reply) => {
      const key = String(reply.reverse());
      waiting.get(key)!();
      waiting.delete(key);
    });
    children.push(child);
    const total = 20_000;
    let next = 0;
    const lane = async () => {
      while (next < total) {
        const key = `call ${next++}`;
        // The reply resolves a promise: the next send comes from its continuation, after the poll that delivered it.
        const replied = new Promise<void>((resolve) => waiting.set(key, resolve));
        while (!channel.send(Buffer.from(key))) await channel.whenWritable(key.length);
        await replied;
      }
    };
    await Promise.all(Array.from({ length: 64 }, lane));
    channel.close();
    const stats = JSON.parse((await child.waitFor(/^stats /)).slice(6)) as { sent: number; doorbellsRung: number };
    console.log(`echo side: ${stats.sent} replies, ${stats.doorbellsRung} doorbell rings`);
    expect(stats.sent).toBe(total);
    // Parking right after delivering (before the continuations had sent) had it ring for about one reply in four.
    expect(stats.doorbellsRung).toBeLessThan(total / 20);
  }, 60_000);

  it('costs no CPU while idle: neither end spins', async () => {
    const replies: Buffer[] = [];
    const { channel, child } = await withEcho(1 << 16, (reply) => replies.push(reply));
    children.push(child);
    channel.send(Buffer.from('one'));
    await until(() => replies.length === 1);
    await sleep(100);
    const before = [cpuTicks(process.pid), cpuTicks(child.process.pid!)];
    await sleep(1000);
    const used = [cpuTicks(process.pid) - before[0]!, cpuTicks(child.process.pid!) - before[1]!];
    // clock ticks are 10 ms: a spinning end would burn ~100 in a second
    expect(used[1]).toBeLessThanOrEqual(2);
    expect(channel.spinWindowNs).toBeLessThanOrEqual(50_000);
    channel.close();
  }, 30_000);

  it('tells the other end when one closes', async () => {
    const name = uniqueName('close');
    const child = startFixture('echo-channel', [name, 'create']);
    children.push(child);
    await child.waitFor(/^ready/);
    let closed = false;
    const channel = ShmChannel.open(name, { onMessage: () => undefined, onClose: () => (closed = true) });
    channels.push(channel);
    child.process.kill('SIGTERM'); // the child closes its end, then exits
    await until(() => closed);
    channel.close();
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  }, 30_000);

  it('gives a clear "peer died" outcome when the creator is SIGKILLed, and the janitor removes what it left', async () => {
    const name = uniqueName('killed');
    const child = startFixture('echo-channel', [name, 'create']);
    children.push(child);
    await child.waitFor(/^ready/);
    const channel = ShmChannel.open(name, { onMessage: () => undefined });
    channels.push(channel);
    expect(channel.creatorPid).toBe(child.process.pid);
    let died = false;
    const watch = watchProcessExit(channel.creatorPid, () => (died = true));
    expect(watch.mechanism).toBe('pidfd');
    expect(findStaleObjects().map((o) => o.path)).not.toContain(`/dev/shm${name}`);
    await child.kill('SIGKILL');
    await until(() => died);
    channel.close();
    const stale = findStaleObjects().filter((o) => o.path.startsWith(`/dev/shm${name}`));
    expect(stale.map((o) => o.kind).sort()).toEqual(['doorbell', 'doorbell', 'segment']);
    expect(stale.find((o) => o.kind === 'segment')!.reason).toMatch(/owner pid \d+ .* is not running/);
    removeStaleObjects();
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
    for (const bell of doorbellPaths(name)) expect(existsSync(bell)).toBe(false);
  }, 30_000);
});

describe('ShmChannel in one process', () => {
  it('survives a handler that closes the channel in the middle of a batch', async () => {
    const name = uniqueName('reentrant');
    const seen: string[] = [];
    const creator = ShmChannel.create(name, { onMessage: () => undefined });
    const opener: ShmChannel = ShmChannel.open(name, {
      onMessage: (buffer, start, end) => {
        seen.push(buffer.toString('utf8', start, end));
        opener.close(); // the rest of the batch must not be delivered, nor the mapping touched
      },
    });
    for (const text of ['first', 'second', 'third']) creator.send(Buffer.from(text));
    await until(() => seen.length > 0);
    await sleep(20);
    expect(seen).toEqual(['first']);
    expect(opener.isClosed).toBe(true);
    creator.close();
  });

  it('delivers a message the peer sent just before closing, then reports the close', async () => {
    const name = uniqueName('lastword');
    const seen: string[] = [];
    let closedAfter = -1;
    const creator = ShmChannel.create(name, { onMessage: () => undefined });
    ShmChannel.open(name, {
      onMessage: (buffer, start, end) => {
        const text = buffer.toString('utf8', start, end);
        seen.push(text);
        // Lands after this read took its snapshot of the ring, and before the close flag.
        if (text === 'first') {
          creator.send(Buffer.from('last'));
          creator.close();
        }
      },
      onClose: () => (closedAfter = seen.length),
    }).unref();
    creator.send(Buffer.from('first'));
    await until(() => closedAfter >= 0);
    expect(seen).toEqual(['first', 'last']);
    expect(closedAfter).toBe(2);
  });

  it('delivers what the ring holds at once on deliverPending, past the drain budget', () => {
    const name = uniqueName('pending');
    const seen: number[] = [];
    const creator = ShmChannel.create(name, { onMessage: () => undefined });
    const opener = ShmChannel.open(name, { drainBudgetMs: 0, onMessage: (buffer, start) => seen.push(buffer[start]!) });
    for (let i = 0; i < 100; i++) creator.send(Buffer.from([i]));
    creator.close();
    opener.deliverPending(); // before any event-loop turn could have polled
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    opener.close();
  });
});
