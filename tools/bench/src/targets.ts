import { connect, type Socket } from 'node:net';
import { defineContract, EventType, Mesh } from '@hostmesh/framework';

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
  skips?(workload: 'in flight', size: number): string | undefined;
  roundTrip(payload: Buffer): Promise<unknown>;
  /**
   * Optional: keep `inFlight` messages outstanding with callbacks instead of promises,
   * until `total` have come back. Measures the mechanism, not promise bookkeeping.
   */
  pump?(payload: Buffer, inFlight: number, total: number): Promise<void>;
  close(): Promise<void>;
}

export interface EchoApi {
  echo(payload: Buffer): Buffer;
  tickCount(): number;
}
export const Echo = defineContract<EchoApi>('bench-echo');

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

/** hostmesh end to end: typed client, codec, framing, routing, promises. */
export function hostmeshTarget(name: string, runtimeDir: string, namespace: string): BenchTarget {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', defaultTimeoutMs: 60_000, maxPayloadBytes: MAX_PAYLOAD_BYTES });
  const client = mesh.client(Echo);
  return {
    name,
    roundTrip: (payload) => client.echo(payload),
    close: () => mesh.close(),
  };
}

/**
 * The floor for Node sockets: a raw `net` Unix-socket client and an echo server that
 * writes back whatever it reads. Replies are counted in bytes, in order, so many
 * requests can be in flight on the one stream.
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
    }
  });
  return {
    name,
    roundTrip: (payload) =>
      new Promise<void>((resolve) => {
        waiting.push({ remaining: payload.length, resolve });
        socket.write(payload);
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
