import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { endLease, ShmChannel, ShmPool } from '@hostmesh/native';
import { FRAME_MAGIC, FrameFlag, FrameKind, frameId, frameKind, HEADER_BYTES, PROTOCOL_VERSION, writeHeader } from '../../protocol/frame';
import { endpointRoute, routeId } from '../../protocol/route-id';
import { POOL_REF_KIND, POOL_RETURN_KIND } from './pool-ref';
import { releaseBuffer, retainBuffer } from '../../rpc/buffer-leases';
import { Mesh } from '../../runtime/mesh';
import { rawChannelFactory } from '../../testing/raw-channel';
import { sleep, spawnService, type SpawnedService } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';
import { faultFixture, shmEntries, startConformance, until } from '../../faults/faults.testing';
import { PoolContract, type Shaped } from './fixtures/pool.contract';

const FIXTURE = join(__dirname, 'fixtures', `pool.main${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
const MiB = 1 << 20;

/**
 * The large-payload pool of shm connections, between real processes: frames from 64 KiB on
 * are copied once into shared memory and read in place on the other side; a handler's
 * Buffer arguments stay valid until it settles, a caller's Buffer results until released;
 * a full pool, a hostile reference and a killed client lose nothing and leak nothing.
 */
describe('the shm large-payload pool', () => {
  const runtime = tempRuntimeDir('hm-pool-');
  const namespace = `pool-${process.pid}`;
  const services: SpawnedService[] = [];
  const meshes: Mesh[] = [];

  async function deploy(ns: string, env: NodeJS.ProcessEnv = {}): Promise<{ server: SpawnedService; mesh: Mesh }> {
    const server = await spawnService(FIXTURE, {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: ns, HOSTMESH_BINDINGS: '{"*":"shm"}', HOSTMESH_LOG_LEVEL: 'info', ...env },
      ready: { service: 'pool-test', runtimeDir: runtime.path, namespace: ns },
    });
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace: ns, logLevel: 'silent', maxPayloadBytes: 8 * MiB });
    services.push(server);
    meshes.push(mesh);
    return { server, mesh };
  }

  let main: { server: SpawnedService; mesh: Mesh };
  beforeAll(async () => {
    main = await deploy(namespace);
  }, 30_000);

  afterAll(async () => {
    for (const mesh of meshes) await mesh.close(100);
    for (const server of services) await server.stop();
    runtime.remove();
  }, 30_000);

  const pools = (ns: string) => shmEntries(`.${ns}.`).filter((name) => name.endsWith('.pool'));

  /** 1 MiB whose byte i is i × step (mod 256): a misplaced byte shows. */
  const patterned = (step: number): Buffer => {
    const data = Buffer.alloc(MiB);
    for (let i = 0; i < MiB; i++) data[i] = (i * step) & 0xff;
    return data;
  };

  /** The service's shm transport entry, from the diagnostic snapshot SIGUSR2 writes. */
  const shmDiagnostics = async (server: SpawnedService, ns: string): Promise<{ pool: Record<string, number>; frameBlockBytes: number }> => {
    const path = join(runtime.path, ns, 'diag', 'pool-test@0.json');
    server.child.kill('SIGUSR2');
    await server.waitForOutput(`diagnostics written to ${path}`);
    const { transports } = JSON.parse(readFileSync(path, 'utf8')) as {
      transports: Array<{ kind: string; pool: Record<string, number>; frameBlockBytes: number }>;
    };
    return transports.find((transport) => transport.kind === 'shm')!;
  };
  /** The service's pool counters. */
  const poolCounters = async (server: SpawnedService, ns: string): Promise<Record<string, number>> => (await shmDiagnostics(server, ns)).pool;

  it('carries 1 MiB both ways through a private pool, read in place on each side', async () => {
    const client = main.mesh.client(PoolContract);
    const data = Buffer.alloc(MiB, 0x2a);
    const result = await client.echo(data);
    expect(result.equals(data)).toBe(true);
    // The result is a view of the pool (the caller's own run, answered in place), and the argument reached the handler as one.
    expect(retainBuffer(result)).not.toBe(result);
    await expect(client.arrivedInPlace(data)).resolves.toBe(true);
    // A small argument travels through the ring and is copied: no view, nothing to release.
    await expect(client.arrivedInPlace(Buffer.alloc(100))).resolves.toBe(false);
    const [pool] = pools(namespace);
    expect(pool).toBeDefined();
    const stat = statSync(`/dev/shm/${pool}`);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.uid).toBe(process.getuid!());
    // Sparse: the pool's pages are those the payloads reached, not its 2 × 128 MiB.
    expect(stat.blocks * 512).toBeLessThan(16 * MiB);
    expect(releaseBuffer(result)).toBe(true);
    expect(result.length).toBe(0);
    expect(releaseBuffer(result)).toBe(false);
  });

  it('carries objects with large Buffers the same way: the Buffers of one result share one lease, released together', async () => {
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', maxPayloadBytes: 8 * MiB });
    meshes.push(mesh);
    const client = mesh.client(PoolContract);
    // The second and later are packed in place into the pool (the codec saw a large frame).
    for (let i = 0; i < 3; i++) {
      const value = { op: 'echo', id: i, data: Buffer.alloc(MiB, 3 + i), more: Buffer.alloc(200_000, 9) } as Shaped;
      const result = (await client.echoObject(value)) as Shaped & { more: Buffer };
      expect(result.op).toBe('echo');
      expect(result.id).toBe(i);
      expect(result.data.equals(value.data)).toBe(true);
      expect(result.more.equals(Buffer.alloc(200_000, 9))).toBe(true);
      expect(retainBuffer(result.data)).not.toBe(result.data);
      const part = result.more.subarray(10, 20);
      // Held: other calls come and go through the pool and the result's bytes stay put.
      for (let j = 0; j < 3; j++) releaseBuffer(await client.echo(Buffer.alloc(300_000, 0xee)));
      expect(result.more.equals(Buffer.alloc(200_000, 9))).toBe(true);
      // Released: every view of the result is empty at once, never another call's bytes.
      expect(releaseBuffer(result.data)).toBe(true);
      expect([result.data.length, result.more.length, part.length]).toEqual([0, 0, 0]);
      expect(releaseBuffer(result.more)).toBe(false);
    }
    // Objects with only small parts come back as ordinary values, nothing held.
    const small = await client.echoObject({ op: 'echo', id: 9, data: Buffer.alloc(10, 1) });
    expect(releaseBuffer(small.data)).toBe(false);
  });

  it("keeps a handler's pooled arguments intact until it settles, while other calls reuse the pool", async () => {
    const client = main.mesh.client(PoolContract);
    const checks = Array.from({ length: 8 }, (_, i) => client.checkLater(Buffer.alloc(MiB, i + 1), i + 1, 150));
    // Meanwhile 40 other 1 MiB calls come and go through the same pool.
    for (let round = 0; round < 10; round++) {
      const echoes = await Promise.all(Array.from({ length: 4 }, (_, i) => client.echo(Buffer.alloc(MiB, 100 + i))));
      echoes.forEach((echo, i) => expect(echo.every((byte) => byte === 100 + i)).toBe(true));
      echoes.forEach((echo) => releaseBuffer(echo));
    }
    await expect(Promise.all(checks)).resolves.toEqual(new Array(8).fill(true));
  });

  it('lets a handler keep a copy with retainBuffer, which outlives the pooled bytes', async () => {
    const client = main.mesh.client(PoolContract);
    await client.keep(Buffer.alloc(MiB, 7));
    for (let i = 0; i < 20; i++) releaseBuffer(await client.echo(Buffer.alloc(MiB, 9)));
    await expect(client.kept()).resolves.toEqual([{ length: MiB, sum: 7 * MiB }]);
  });

  it("empties an argument a handler kept past its end without retainBuffer: never another call's bytes", async () => {
    const client = main.mesh.client(PoolContract);
    await client.keepView(Buffer.alloc(MiB, 4));
    for (let i = 0; i < 5; i++) releaseBuffer(await client.echo(Buffer.alloc(MiB, 8)));
    // Its lease ended with the handler: it reads as empty (an error to index), not as the bytes that came after.
    await expect(client.keptView()).resolves.toEqual({ length: 0, read: 'RangeError' });
  });

  it('gives every held result its own bytes: views up to the lease bound, copies past it', async () => {
    // A client of its own: the bound counts what one connection's callers hold.
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', maxPayloadBytes: 8 * MiB });
    meshes.push(mesh);
    const client = mesh.client(PoolContract);
    const results = await Promise.all(Array.from({ length: 48 }, (_, i) => client.echo(Buffer.alloc(MiB, i + 1))));
    // Another round while all 48 are held: none of them may change.
    await Promise.all(Array.from({ length: 16 }, () => client.echo(Buffer.alloc(MiB, 0xff))));
    results.forEach((result, i) => expect(result.every((byte) => byte === i + 1)).toBe(true));
    const views = results.filter((result) => retainBuffer(result) !== result);
    expect(views.length).toBeGreaterThan(0);
    expect(views.length).toBeLessThanOrEqual(32);
    for (const result of results) expect(releaseBuffer(result)).toBe(views.includes(result));
  });

  it('lends pool memory with $alloc: filled in place and sent without a copy, run after run', async () => {
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', maxPayloadBytes: 8 * MiB });
    meshes.push(mesh);
    const client = mesh.client(PoolContract);
    // Before the first call there is no connection, so no pool: a plain Buffer, which works as well.
    const early = client.$alloc(1000);
    expect(retainBuffer(early)).toBe(early);
    await expect(client.echo(early.fill(1))).resolves.toEqual(Buffer.alloc(1000, 1));
    // 200 loans of 1 MiB, more than the 128 MiB pool holds at once: each one consumed by its call and handed back by the service.
    for (let i = 0; i < 200; i++) {
      const loan = client.$alloc(MiB);
      expect(retainBuffer(loan)).not.toBe(loan);
      loan.fill(i % 250);
      const result = await client.echo(loan);
      // Consumed by the call: it reads as empty, it never shows the pool's later bytes.
      expect(loan.length).toBe(0);
      expect(result.length).toBe(MiB);
      expect(result[0] === i % 250 && result[MiB - 1] === i % 250).toBe(true);
      releaseBuffer(result);
    }
    const loan = client.$alloc(2 * MiB).fill(0x11);
    await expect(client.arrivedInPlace(loan)).resolves.toBe(true);
    // A part of a loan that starts past its run's first slot is copied, and the loan is spent all the same.
    const big = client.$alloc(3 * 65_536).fill(0x22);
    const part = await client.echo(big.subarray(100_000));
    expect(part.length).toBe(3 * 65_536 - 100_000);
    expect(part.every((byte) => byte === 0x22)).toBe(true);
    expect(big.length).toBe(0);
    // Sent twice: refused, rather than sending nothing.
    await expect(client.echo(big)).rejects.toThrow(/loan already sent/);
    // Small sizes travel through the ring, copied once: a plain Buffer, no pool memory held.
    const small = client.$alloc(100);
    expect(retainBuffer(small)).toBe(small);
    expect(() => client.$alloc(-1)).toThrow(RangeError);
  });

  it("answers with the caller's own pooled bytes, no copy: an echo, a part of the argument, a change made in place", async () => {
    const ns = `${namespace}-inplace`;
    const { server, mesh } = await deploy(ns);
    const client = mesh.client(PoolContract);
    const data = patterned(7);
    const echoed = await client.echo(data);
    expect(echoed.equals(data)).toBe(true);
    expect(releaseBuffer(echoed)).toBe(true);

    const loan = client.$alloc(MiB);
    loan.set(data);
    const inverted = await client.invert(loan);
    expect(inverted.length).toBe(MiB);
    expect(inverted.every((byte, i) => byte === 255 - ((i * 7) & 0xff))).toBe(true);
    releaseBuffer(inverted);
    const middle = await client.middle(data, 100_000, 700_000);
    expect(middle.equals(data.subarray(100_000, 700_000))).toBe(true);
    releaseBuffer(middle);
    // The pool file is sparse: only the caller's half has pages (its run of 17 slots, reused
    // each time). Had the service copied any of its three answers, its own half would hold a MiB more.
    const [pool] = pools(ns);
    const allocated = () => statSync(`/dev/shm/${pool}`).blocks * 512;
    expect(allocated()).toBeLessThan(1.5 * MiB);
    // Pieces of the argument streamed one by one are copies (the first one's answer may not take the run the others are read from).
    const pieces: Buffer[] = [];
    for await (const piece of client.pieces(data, 256 * 1024)) pieces.push(retainBuffer(piece));
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
    expect(allocated()).toBeGreaterThan(2 * MiB);

    // 300 answers in the caller's own half, half of them never released: the lease bound and
    // the collector give the runs back, the caller keeps sending through the pool.
    for (let i = 0; i < 300; i++) {
      data[0] = data[MiB - 1] = i & 0xff;
      const result = await client.echo(data);
      expect(result[0] === (i & 0xff) && result[MiB - 1] === (i & 0xff) && result[MiB >> 1] === data[MiB >> 1]).toBe(true);
      if (i % 2 === 0) releaseBuffer(result);
    }
    await expect(client.arrivedInPlace(data)).resolves.toBe(true);
    // The service's diagnostic snapshot (SIGUSR2) counts both ways of answering.
    const used = await poolCounters(server, ns);
    expect(used.answeredInPlace).toBeGreaterThanOrEqual(303);
    // The four streamed pieces of 256 KiB were copied into the service's half.
    expect(used.copied).toBeGreaterThanOrEqual(4);
    expect(used.copied).toBeLessThan(used.answeredInPlace);
  });

  it('answers in place whatever the request carried: metadata, an object around the bytes, a result passed back in', async () => {
    const ns = `${namespace}-carried`;
    const { server, mesh } = await deploy(ns);
    const client = mesh.client(PoolContract);
    const data = patterned(31);
    // A deadline and headers travel in a metadata section in front of the body: the answer's header goes over its end.
    const withMetadata = await client.$with({ timeoutMs: 10_000, headers: { tenant: 'a'.repeat(100) } }).echo(data);
    expect(withMetadata.equals(data)).toBe(true);
    // The Buffer of an object argument, answered alone: the object's other fields were decoded before.
    const fromObject = await client.dataOf({ op: 'x'.repeat(1000), id: 7, data });
    expect(fromObject.equals(data)).toBe(true);
    // A result in the caller's own half, sent back as the next argument (copied into a run of its own), then answered in place again.
    const again = await client.echo(withMetadata);
    expect(again.equals(data)).toBe(true);
    expect(withMetadata.equals(data)).toBe(true);
    for (const result of [withMetadata, fromObject, again]) releaseBuffer(result);
    await expect(poolCounters(server, ns)).resolves.toEqual({ copied: 0, lent: 0, answeredInPlace: 3, throughRing: 0 });
  });

  it('frees the runs of answers made in place to calls the caller gave up on, and queues them behind a full ring', async () => {
    // 8 MiB a direction (128 slots: seven 1 MiB requests at once), a ring of 4 KiB.
    const ns = `${namespace}-abandon`;
    const { mesh } = await deploy(ns, { HOSTMESH_SHM_POOL_BYTES: String(8 * MiB), HOSTMESH_SHM_RING_BYTES: '4096' });
    const client = mesh.client(PoolContract);
    const hasty = client.$with({ timeoutMs: 50 });
    // Ten 1 MiB calls given up on after 50 ms; the service answers each in place 300 ms later (those that came through the pool).
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => hasty.echoLater(Buffer.alloc(MiB, i), 300)));
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    await sleep(600);
    // Had any of those runs stayed taken, a 1 MiB request would no longer find room in the pool.
    for (let i = 0; i < 7; i++) await expect(client.arrivedInPlace(Buffer.alloc(MiB))).resolves.toBe(true);
    // 48 answers in place at once, their references queued behind a 4 KiB ring: each comes back whole and right.
    const sizes = Array.from({ length: 48 }, (_, i) => 64 * 1024 + i * 1000);
    const results = await Promise.all(sizes.map((size, i) => client.echo(Buffer.alloc(size, i + 1))));
    expect(results.map((result, i) => result.length === sizes[i] && result.every((byte) => byte === i + 1))).toEqual(sizes.map(() => true));
    for (const result of results) releaseBuffer(result);
    await expect(client.arrivedInPlace(Buffer.alloc(MiB))).resolves.toBe(true);
  });

  it("speaks docs/protocol.md's handshake by hand: a caller that says returns gets its own bytes back (0xf7), one that does not gets the service's (0xf6)", async () => {
    const [descriptor] = await main.mesh.registry.lookup('pool-test');
    const path = (descriptor!.listeners.shm as { path: string }).path;
    const data = patterned(13);
    for (const returns of [false, true]) {
      const socket = connect(path);
      await once(socket, 'connect');
      const lines = createInterface({ input: socket });
      socket.write(`${JSON.stringify(returns ? { v: 1, pid: process.pid, returns: true } : { v: 1, pid: process.pid })}\n`);
      const [line] = (await once(lines, 'line')) as [string];
      const hello = JSON.parse(line) as { v: number; channel: string; pool: string };
      expect(hello.v).toBe(1);
      const answers: Buffer[] = [];
      const channel = ShmChannel.open(hello.channel, { onMessage: (buffer, start, end) => void answers.push(Buffer.from(buffer.subarray(start, end))) });
      const pool = ShmPool.open(hello.pool);
      try {
        // A request for pool-test.echo with a raw body of 1 MiB, copied into a run of this side's half.
        const header = Buffer.alloc(HEADER_BYTES);
        writeHeader(header, FrameKind.Request, FrameFlag.RawBody, 1, routeId(endpointRoute('pool-test', 'echo')), MiB);
        const offset = pool.outbound.claim(HEADER_BYTES + MiB);
        pool.outbound.write(offset, header, data);
        const ref = Buffer.alloc(24);
        ref.set([FRAME_MAGIC, PROTOCOL_VERSION, POOL_REF_KIND, 0]);
        ref.writeUInt32LE(8, 12);
        ref.writeUInt32LE(offset, 16);
        ref.writeUInt32LE(HEADER_BYTES + MiB, 20);
        expect(channel.send(ref)).toBe(true);
        await until(() => answers.length > 0, 5000, 'the answer');
        const [answer] = answers;
        expect(answer!.length).toBe(24);
        expect(answer![2]).toBe(returns ? POOL_RETURN_KIND : POOL_REF_KIND);
        const [at, length] = [answer!.readUInt32LE(16), answer!.readUInt32LE(20)];
        expect(length).toBe(HEADER_BYTES + MiB);
        // In place: the answer's header where the request's was, in the run this side sent.
        if (returns) expect(at).toBe(offset);
        const frame = returns ? pool.outbound.returned(at, length)! : pool.inbound.lease(at, length)!;
        expect([frameKind(frame, 0), frameId(frame, 0)]).toEqual([FrameKind.Response, 1]);
        expect(frame.subarray(HEADER_BYTES).equals(data)).toBe(true);
        expect(endLease(frame)).toBe(true);
        // Handed back: the run is free for the next request.
        expect(pool.outbound.claim(HEADER_BYTES + MiB)).toBe(offset);
      } finally {
        channel.close();
        pool.close();
        socket.destroy();
      }
    }
  });

  it('hands a result of half the pool, frame header and all, to its caller as a view when nothing else is held', async () => {
    // 512 KiB a direction: half of it is the largest payload a caller may keep, and its frame is a few bytes more.
    const half = await deploy(`${namespace}-half`, { HOSTMESH_SHM_POOL_BYTES: String(512 * 1024) });
    const client = half.mesh.client(PoolContract);
    const result = await client.echo(Buffer.alloc(256 * 1024, 7));
    expect(result.every((byte) => byte === 7)).toBe(true);
    expect(retainBuffer(result)).not.toBe(result);
    expect(releaseBuffer(result)).toBe(true);
  });

  it('sends through the ring when the pool is full, losing nothing', async () => {
    const small = await deploy(`${namespace}-small`, { HOSTMESH_SHM_POOL_BYTES: String(128 * 1024) });
    const client = small.mesh.client(PoolContract);
    await client.echo(Buffer.alloc(1));
    // A loan that fills the pool, sent in part through the ring: copied, spent, and its run back for the next.
    const loan = client.$alloc(70_000).fill(0x33);
    expect(retainBuffer(loan)).not.toBe(loan);
    expect((await client.echo(loan.subarray(66_000))).every((byte) => byte === 0x33)).toBe(true);
    const next = client.$alloc(70_000);
    expect(retainBuffer(next)).not.toBe(next);
    await client.echo(next.fill(1));
    const sizes = Array.from({ length: 24 }, (_, i) => 70_000 + i * 20_000);
    const results = await Promise.all(sizes.map((size, i) => client.echo(Buffer.alloc(size, i + 1))));
    results.forEach((result, i) => {
      expect(result.length).toBe(sizes[i]);
      expect(result.every((byte) => byte === i + 1)).toBe(true);
    });
  });

  it("copies a pooled argument echoed through the ring (its caller's pool full) into reused memory, ended once it is in the ring", async () => {
    const ns = `${namespace}-copied`;
    const full = await deploy(ns, { HOSTMESH_SHM_POOL_BYTES: String(2 * MiB) });
    const client = full.mesh.client(PoolContract);
    await expect(client.frameBlockBytes()).resolves.toBe(0);
    // A held result takes half the service's side of the pool: the next 1 MiB answers go through the ring.
    const first = await client.echo(patterned(1));
    for (let i = 2; i < 12; i++) {
      const echo = await client.echo(patterned(i));
      expect(echo.equals(patterned(i))).toBe(true);
      expect(releaseBuffer(echo)).toBe(true);
    }
    expect(first.equals(patterned(1))).toBe(true);
    expect(releaseBuffer(first)).toBe(true);
    // The service copied each answer into a frame block, handed back for the next: kept, and bounded.
    const kept = await client.frameBlockBytes();
    expect(kept).toBeGreaterThanOrEqual(MiB);
    expect(kept).toBeLessThanOrEqual(64 * MiB + 64 * 1024);
    // Its diagnostics say how many large answers took the ring (the sign of a pool too small, or results held), and the memory kept.
    const { pool: used, frameBlockBytes } = await shmDiagnostics(full.server, ns);
    expect(used.throughRing).toBeGreaterThanOrEqual(10);
    expect(used.copied).toBeGreaterThanOrEqual(1);
    expect(frameBlockBytes).toBeGreaterThanOrEqual(MiB);
    expect(frameBlockBytes).toBeLessThanOrEqual(64 * MiB + 64 * 1024);
  });

  it('uses no pool when it is configured off', async () => {
    const off = await deploy(`${namespace}-off`, { HOSTMESH_SHM_POOL_BYTES: '0' });
    const client = off.mesh.client(PoolContract);
    const result = await client.echo(Buffer.alloc(MiB, 5));
    expect(result.every((byte) => byte === 5)).toBe(true);
    // Still a lease (retainBuffer copies it), but of memory of the service's own: no pool segment exists.
    await expect(client.arrivedInPlace(Buffer.alloc(MiB))).resolves.toBe(true);
    expect(pools(`${namespace}-off`)).toEqual([]);
  });

  it("assembles frames from the ring in reused memory when there is no pool: leases like the pool's, never another call's bytes", async () => {
    const ns = `${namespace}-blocks`;
    const off = await deploy(ns, { HOSTMESH_SHM_POOL_BYTES: '0' });
    const client = off.mesh.client(PoolContract);
    // Arguments stay intact until their handler settles while other calls reuse the blocks.
    const checks = Array.from({ length: 4 }, (_, i) => client.checkLater(Buffer.alloc(MiB, i + 1), i + 1, 150));
    for (let round = 0; round < 10; round++) {
      const echoes = await Promise.all(Array.from({ length: 4 }, (_, i) => client.echo(patterned(round * 4 + i + 1))));
      echoes.forEach((echo, i) => expect(echo.equals(patterned(round * 4 + i + 1))).toBe(true));
      // A result is a lease: released, it empties, and its block serves the next frame.
      for (const echo of echoes) expect(releaseBuffer(echo)).toBe(true);
      echoes.forEach((echo) => expect(echo.length).toBe(0));
    }
    await expect(Promise.all(checks)).resolves.toEqual([true, true, true, true]);
    // Results held without release keep their bytes while later frames take other blocks.
    const held = await Promise.all(Array.from({ length: 6 }, (_, i) => client.echo(patterned(100 + i))));
    for (let i = 0; i < 10; i++) releaseBuffer(await client.echo(Buffer.alloc(MiB, 0xee)));
    held.forEach((result, i) => expect(result.equals(patterned(100 + i))).toBe(true));
    // A handler's copy outlives the call; a view it kept without retainBuffer empties.
    await client.keep(Buffer.alloc(MiB, 7));
    await client.keepView(Buffer.alloc(MiB, 4));
    for (let i = 0; i < 5; i++) releaseBuffer(await client.echo(Buffer.alloc(MiB, 8)));
    await expect(client.kept()).resolves.toEqual([{ length: MiB, sum: 7 * MiB }]);
    await expect(client.keptView()).resolves.toEqual({ length: 0, read: 'RangeError' });
    expect(pools(ns)).toEqual([]);
  });

  it('drops a peer that points outside the pool, and serves the others', async () => {
    const [descriptor] = await main.mesh.registry.lookup('pool-test');
    const raw = await rawChannelFactory('shm')(descriptor!);
    const ref = Buffer.alloc(24);
    ref[0] = FRAME_MAGIC;
    ref[1] = PROTOCOL_VERSION;
    ref[2] = POOL_REF_KIND;
    ref.writeUInt32LE(8, 12);
    ref.writeUInt32LE(0x7fff0000, 16);
    ref.writeUInt32LE(MiB, 20);
    raw.write(ref);
    await main.server.waitForOutput(/dropped connection .*FrameError.*lies outside the pool/, 5000);
    await raw.closed;
    // An answer "in the service's own half" that the service never sent.
    const liar = await rawChannelFactory('shm')(descriptor!);
    ref[2] = POOL_RETURN_KIND;
    ref.writeUInt32LE(0, 16);
    liar.write(ref);
    await main.server.waitForOutput(/dropped connection .*FrameError.*the peer answered in pooled bytes of this side, which this side never offered/, 5000);
    await liar.closed;
    const client = main.mesh.client(PoolContract);
    const result = await client.echo(Buffer.alloc(MiB, 1));
    expect(result.every((byte) => byte === 1)).toBe(true);
  });

  it("removes a client's pool with its ring when the client is SIGKILLed mid-call", async () => {
    const ns = `${namespace}-ck`;
    const server = await startConformance('shm', runtime.path, ns);
    services.push(server);
    const flooder = await spawnService(faultFixture('flooder'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: ns },
      args: [String(MiB), '4'],
    });
    await flooder.waitForOutput(/replies \d+/, 15_000);
    const ofFlooder = () => shmEntries(`.${ns}.`, `.conformance.0.${flooder.pid}.`);
    expect(ofFlooder().filter((name) => name.endsWith('.pool'))).toHaveLength(1);
    await sleep(50);
    await flooder.kill();
    await until(() => ofFlooder().length === 0, 2000, `ring and pool of killed client ${flooder.pid} removed`);
    expect(server.running).toBe(true);
  }, 30_000);
});
