import { connect, type Socket } from 'node:net';
import { defineContract, EventType, Mesh, releaseBuffer } from '@hostmesh/framework';
import type { PayloadShape } from './result';

/** Something the workloads can send a payload to and get it back from. */
export interface BenchTarget {
  readonly name: string;
  /** The process serving it, for CPU accounting (set by whoever starts the server). */
  serverPid?: number;
  /** The thread of `serverPid` serving it, when it is a worker thread of the bench itself. */
  serverTid?: number;
  /**
   * Workloads this target sits out, with the reason the report prints (moleculer's
   * quadratic packet reader would take minutes for 64 × 1 MiB in flight).
   */
  skips?(workload: 'in flight', size: number, shape: PayloadShape): string | undefined;
  roundTrip(payload: Buffer): Promise<unknown>;
  /**
   * The object shape, sent the way the target's users send an object. Absent where the
   * target moves bytes only: `objectUnsupported` says why, and the report prints n/a.
   */
  roundTripObject?(payload: EchoObject): Promise<unknown>;
  objectUnsupported?: string;
  /**
   * Optional: keep `inFlight` messages outstanding with callbacks instead of promises,
   * until `total` have come back. Measures the mechanism, not promise bookkeeping.
   */
  pump?(payload: Buffer, inFlight: number, total: number): Promise<void>;
  close(): Promise<void>;
}

/** The object shape's payload: a request as an application would write one. */
export interface EchoObject {
  op: string;
  id: number;
  data: Buffer;
}

export interface EchoApi {
  echo(payload: Buffer): Buffer;
  echoObject(payload: EchoObject): EchoObject;
  tickCount(): number;
  /** The stream rows (streams.ts): `n` Buffer items of `size` bytes, as fast as the stream's credit lets them go. */
  items(n: number, size: number): AsyncIterable<Buffer>;
  /** The replica rows (replicas.ts): `busyWork(rounds)` on the replica's thread; which replica answered, and the hash. */
  busy(rounds: number): { instance: number; hash: number };
}
export const Echo = defineContract<EchoApi>('bench-echo', { items: { stream: true } });

/** The event of the one-way benchmark: about 64 bytes on the wire. */
@EventType('bench.tick')
export class BenchTick {
  constructor(
    readonly seq: number,
    readonly note: string,
  ) {}
}

/** Room for the scaling sweep's 64 MiB payloads plus their framing (the default limit is 64 MiB). */
export const MAX_PAYLOAD_BYTES = 80 * 1024 * 1024;

/**
 * What a caller does with shm's pooled Buffers: nothing, as naive code does ('plain': results
 * held until GC, then copies past the lease cap), `releaseBuffer` on each result ('released'),
 * or that and sending a loan of the pool filled in place ('loans').
 */
export type BufferUse = 'plain' | 'released' | 'loans';

/** hostmesh end to end: typed client, codec, framing, routing, promises. Its own Mesh, so its leases are its own. */
export function hostmeshTarget(name: string, runtimeDir: string, namespace: string, use: BufferUse = 'plain'): BenchTarget {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', defaultTimeoutMs: 60_000, maxPayloadBytes: MAX_PAYLOAD_BYTES });
  const client = mesh.client(Echo);
  const close = () => mesh.close();
  if (use === 'plain') return { name, roundTrip: (payload) => client.echo(payload), roundTripObject: (payload) => client.echoObject(payload), close };
  if (use === 'released') {
    return {
      name,
      roundTrip: async (payload) => releaseBuffer(await client.echo(payload)),
      // Object results are decoded copies, so this releases nothing; it stays right if they ever are leased.
      roundTripObject: async (payload) => releaseBuffer((await client.echoObject(payload)).data),
      close,
    };
  }
  return {
    name,
    roundTrip: async (payload) => {
      // The copy in stands for the application producing its data in the loan: it is the caller's cost.
      const loan = client.$alloc(payload.length);
      loan.set(payload);
      return releaseBuffer(await client.echo(loan));
    },
    objectUnsupported: 'a loan crosses without a copy only as the single Buffer argument of a call; inside an object the codec copies it like any Buffer',
    close,
  };
}

/** Length (u32), op code (u8) and id (u32): the header of a hand-rolled binary request. */
const OBJECT_HEADER_BYTES = 9;
/** From this size on the data goes out from the caller's buffer (writev) rather than copied behind the header. */
const GATHER_BYTES = 16 * 1024;

/**
 * The floor for Node sockets: a raw `net` Unix-socket client and an echo server that
 * writes back whatever it reads. Replies are counted in bytes, in order, so many
 * requests can be in flight on the one stream.
 *
 * Raw UDS has no serialization, so its object shape is what a hand-rolled binary protocol
 * would send for `{ op, id, data }`: a 9-byte header, then the same bytes as the buffer
 * shape. Cheaper than any real encoding of the object, which keeps the baseline a floor.
 */
export async function rawSocketTarget(name: string, path: string): Promise<BenchTarget> {
  const socket: Socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const waiting: Array<{ remaining: number; resolve: () => void }> = [];
  let head = 0;
  socket.on('data', (chunk: Buffer) => {
    let bytes = chunk.length;
    while (bytes > 0 && head < waiting.length) {
      const reply = waiting[head]!;
      const take = Math.min(bytes, reply.remaining);
      reply.remaining -= take;
      bytes -= take;
      if (reply.remaining === 0) {
        head++;
        reply.resolve();
      }
    }
    if (head === waiting.length) {
      waiting.length = 0;
      head = 0;
    } else if (head >= 4096) {
      // With calls always in flight the queue never empties: without this it kept every
      // answered entry of a run (300 000 promises' resolvers), and its GC slowed the run.
      waiting.splice(0, head);
      head = 0;
    }
  });
  return {
    name,
    roundTrip: (payload) =>
      new Promise<void>((resolve) => {
        waiting.push({ remaining: payload.length, resolve });
        socket.write(payload);
      }),
    roundTripObject: ({ id, data }) =>
      new Promise<void>((resolve) => {
        waiting.push({ remaining: OBJECT_HEADER_BYTES + data.length, resolve });
        writeObjectFrame(socket, id, data);
      }),
    pump: (payload, inFlight, total) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let received = 0;
        const next = () => {
          if (++received === total) resolve();
          else if (sent < total) send();
        };
        const send = () => {
          sent++;
          waiting.push({ remaining: payload.length, resolve: next });
          socket.write(payload);
        };
        for (let i = 0; i < inFlight && sent < total; i++) send();
      }),
    close: async () => {
      socket.destroy();
    },
  };
}

function writeObjectFrame(socket: Socket, id: number, data: Buffer): void {
  const small = data.length < GATHER_BYTES;
  const head = Buffer.allocUnsafe(OBJECT_HEADER_BYTES + (small ? data.length : 0));
  head.writeUInt32LE(OBJECT_HEADER_BYTES - 4 + data.length, 0);
  // The op travels as a code: a binary protocol does not spell out 'echo'.
  head.writeUInt8(1, 4);
  head.writeUInt32LE(id >>> 0, 5);
  if (small) {
    data.copy(head, OBJECT_HEADER_BYTES);
    socket.write(head);
    return;
  }
  socket.cork();
  socket.write(head);
  socket.write(data);
  socket.uncork();
}
