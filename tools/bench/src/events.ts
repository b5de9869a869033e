import { connect } from 'node:net';
import { Mesh } from '@hostmesh/framework';
import { BenchTick, Echo } from './targets';

/**
 * One-way events per second, with a final barrier that proves none was lost: the
 * subscriber's count must reach exactly what was published.
 */
export async function hostmeshEvents(runtimeDir: string, namespace: string, count: number, window = 1024): Promise<{ rate: number; lost: number }> {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', defaultTimeoutMs: 10_000 });
  const client = mesh.client(Echo);
  const before = await client.tickCount();
  const note = 'x'.repeat(40);
  const begin = process.hrtime.bigint();
  // Publishes in windows of `window` and waits for each window: a producer that respects
  // backpressure (a full queue holds the window back) without awaiting every event.
  for (let next = 0; next < count;) {
    const pending: Array<Promise<void>> = [];
    for (const end = Math.min(count, next + window); next < end; next++) pending.push(mesh.events.publish(new BenchTick(next, note)));
    await Promise.all(pending);
  }
  let received = 0;
  for (let i = 0; i < 5000; i++) {
    received = (await client.tickCount()) - before;
    if (received >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  await mesh.close(0);
  return { rate: count / seconds, lost: count - received };
}

/** The raw floor: `count` 64-byte writes on one Unix socket, then the sink's one-byte ack. */
export async function rawEvents(path: string, count: number): Promise<{ rate: number; lost: number }> {
  const socket = connect(path);
  await new Promise((resolve) => socket.once('connect', resolve));
  const message = Buffer.alloc(64, 9);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(count * message.length));
  const acked = new Promise((resolve) => socket.once('data', resolve));
  const begin = process.hrtime.bigint();
  socket.write(header);
  for (let i = 0; i < count; i++) {
    if (!socket.write(message)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await acked;
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  socket.destroy();
  return { rate: count / seconds, lost: 0 };
}
