import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { FrameKind, HEADER_BYTES, writeHeader } from '../protocol/frame';
import { Mesh } from '../runtime/mesh';
import { RuntimeDir } from '../core/runtime-dir';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { startConformance, tearDown, until } from './faults.testing';

/**
 * Peers of the same uid (the peer policy admits them) that try to make a service hold
 * memory or connections: raw Unix-socket clients against a real service process, whose
 * resident memory is read from /proc. The service runs with a 160 MiB budget for frames
 * in progress and a 2 s idle timeout; the minimum frame rate is the default 64 KiB/s.
 */
const MiB = 1024 * 1024;
const BUDGET = 160 * MiB;

describe('fault: greedy peers of a service (uds)', () => {
  const runtime = tempRuntimeDir('hm-gp-');
  const namespace = `gp-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', bindings: { '*': 'uds' } });
  const peers: Socket[] = [];
  let server: SpawnedService;
  beforeAll(async () => {
    server = await startConformance('uds', runtime.path, namespace, {
      CONFORMANCE_MAX_PAYLOAD: String(64 * MiB),
      HOSTMESH_MAX_BUFFERED_BYTES: String(BUDGET),
      HOSTMESH_IDLE_TIMEOUT_MS: '2000',
    });
  }, 30_000);
  afterAll(async () => {
    for (const peer of peers) peer.destroy();
    await tearDown({ mesh, processes: [server], namespace, runtime });
  }, 30_000);

  const socketPath = () => new RuntimeDir(runtime.path, namespace).socketPath('conformance', '0');
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]) * 1024;
  const connectOnce = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(socketPath());
      peers.push(socket);
      socket.on('error', () => undefined); // a peer the service dropped: EPIPE/ECONNRESET on our side
      socket.on('close', () => ended.add(socket));
      socket.resume(); // read (and ignore) what the service says, so its end is seen
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  /** Connects; a full accept backlog (EAGAIN on a Unix socket) is waited out, a bounded number of times. */
  const open = async (): Promise<Socket> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await connectOnce();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 100) throw error;
        await sleep(20);
      }
    }
  };
  const ended = new WeakSet<Socket>();
  const closed = (socket: Socket) => ended.has(socket);
  const writable = (socket: Socket) =>
    new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done).off('close', done);
        resolve();
      };
      socket.on('drain', done).on('close', done);
    });
  const dropped = (pattern: RegExp) => server.output.split('\n').filter((line) => pattern.test(line)).length;

  it('keeps 12 peers announcing 64 MiB frames each within its budget, and gives the memory back when they go', async () => {
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 20);
    try {
      const piece = Buffer.alloc(MiB, 0x61);
      const greedy = await Promise.all(Array.from({ length: 12 }, () => open()));
      // Each announces a 64 MiB body and sends 40 MiB of it, as fast as the service takes it.
      await Promise.all(
        greedy.map(async (socket, index) => {
          const header = Buffer.alloc(HEADER_BYTES);
          writeHeader(header, FrameKind.Request, 0, index + 1, 1, 64 * MiB);
          socket.write(header);
          for (let sent = 0; sent < 40 && !closed(socket); sent++) {
            if (!socket.write(piece)) await writable(socket);
          }
        }),
      );
      await sleep(200);
      const during = Math.max(peak, rss());
      const open12 = greedy.filter((socket) => !closed(socket)).length;
      for (const socket of greedy) socket.destroy();
      await until(() => dropped(/dropped connection .*(truncated frame|budget)/) >= 12, 10_000, 'every greedy connection ended');
      await sleep(500);
      const after = rss();
      process.stdout.write(
        `greedy peers: RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(during / MiB).toFixed(0)} MiB, after ${(after / MiB).toFixed(0)} MiB; ` +
          `${open12} of 12 were let in, budget ${BUDGET / MiB} MiB\n`,
      );
      // Frames of 64 MiB (and a 16-byte header): two fit in 160 MiB; the ten others were refused at their header.
      expect(open12).toBe(2);
      expect(dropped(new RegExp(`dropped connection .*would take the service past its budget of ${BUDGET} bytes`))).toBe(10);
      expect(during - before).toBeLessThan(BUDGET);
      // The frames of peers that left are given back at once, not at the next garbage collection:
      // most of what the peak took is gone (what stays is the heap's own growth).
      expect(after - before).toBeLessThan((during - before) / 2);
      await expect(mesh.client(Conformance).add(20, 22)).resolves.toBe(42);
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);

  it('closes connections that never send a frame after the idle timeout, then serves a new client', async () => {
    const idle: Socket[] = [];
    // In batches, so the service's accept backlog is not the thing being tested.
    for (let batch = 0; batch < 11; batch++) idle.push(...(await Promise.all(Array.from({ length: 100 }, () => open()))));
    // 1024 are let in (maxConnections), the rest refused at once; the idle timeout ends the others.
    await until(() => idle.every(closed), 15_000, '1100 idle connections closed');
    expect(dropped(/no frame within 2000 ms of connecting \(idleTimeoutMs\)/)).toBeGreaterThanOrEqual(1024 - 1);
    await expect(mesh.client(Conformance).add(1, 2)).resolves.toBe(3);
  }, 60_000);

  it('drops a writer that sends one byte every 9 s', async () => {
    const slow = await open();
    const started = Date.now();
    slow.write(Buffer.from([0x48]));
    const ticker = setInterval(() => slow.write(Buffer.from([0x4d])), 9000);
    try {
      await until(() => closed(slow), 20_000, 'the slow writer dropped');
    } finally {
      clearInterval(ticker);
    }
    expect(Date.now() - started).toBeLessThan(13_000);
    await until(() => dropped(/frame arriving too slowly: \d+ bytes in \d+ ms, under the minimum of 65536 B\/s/) === 1, 2000, 'the drop logged');
    await expect(mesh.client(Conformance).add(2, 2)).resolves.toBe(4);
  }, 30_000);
});
