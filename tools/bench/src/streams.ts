import { connect, type Socket } from 'node:net';
import { Mesh, releaseBuffer } from '@hostmesh/framework';
import { MAX_PAYLOAD_BYTES, Echo } from './targets';

/** One stream of `count` Buffer items of `size` bytes, from a server process to this one. */
export interface StreamRun {
  seconds: number;
  /** Items and bytes that arrived; `wrong` counts items of another length than asked. */
  items: number;
  bytes: number;
  wrong: number;
}

/** Something that streams Buffer items from its server process to the bench: raw UDS or a hostmesh stream endpoint. */
export interface StreamTarget {
  readonly name: string;
  /** The process serving it, for CPU accounting (set by whoever starts the server). */
  serverPid?: number;
  run(count: number, size: number): Promise<StreamRun>;
  close(): Promise<void>;
}

/**
 * hostmesh end to end: the typed client's `items(n, size)` stream iterated with `for await`,
 * the service's async generator yielding one Buffer n times. Default credit window (4096 items,
 * 4 MiB), as a caller gets it. Its own Mesh, so its connection is its own. Each item is
 * released once counted (`releaseBuffer`, as docs/streaming.md advises): over shm a large item
 * is a view of the pool, whose room goes back at once rather than at the next GC.
 */
export function hostmeshStreamTarget(name: string, runtimeDir: string, namespace: string): StreamTarget {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', defaultTimeoutMs: 60_000, maxPayloadBytes: MAX_PAYLOAD_BYTES });
  const client = mesh.client(Echo);
  return {
    name,
    run: async (count, size) => {
      let items = 0;
      let bytes = 0;
      let wrong = 0;
      const begin = process.hrtime.bigint();
      for await (const item of client.items(count, size)) {
        items++;
        bytes += item.length;
        if (item.length !== size) wrong++;
        releaseBuffer(item);
      }
      return { seconds: Number(process.hrtime.bigint() - begin) / 1e9, items, bytes, wrong };
    },
    close: () => mesh.close(),
  };
}

/**
 * The floor for Node sockets: raw-stream.server writes `count` length-prefixed items (u32
 * length, then the bytes) on a Unix socket, respecting backpressure; this client parses them
 * into one Buffer per item, a view of the chunk read where the item lies within it, else a
 * Buffer the item's pieces are copied into (every 1 MiB item: reads are 64 KiB).
 */
export async function rawStreamTarget(name: string, path: string): Promise<StreamTarget> {
  const socket: Socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let onItem: ((item: Buffer) => void) | null = null;
  const header = Buffer.alloc(4);
  let headerFill = 0;
  let item: Buffer | null = null;
  let itemFill = 0;
  socket.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (item === null) {
        let length: number;
        if (headerFill === 0 && chunk.length - at >= 4) {
          length = chunk.readUInt32LE(at);
          at += 4;
        } else {
          // A length split across reads.
          const take = Math.min(4 - headerFill, chunk.length - at);
          chunk.copy(header, headerFill, at, at + take);
          headerFill += take;
          at += take;
          if (headerFill < 4) return;
          headerFill = 0;
          length = header.readUInt32LE(0);
        }
        if (chunk.length - at >= length) {
          onItem!(chunk.subarray(at, at + length));
          at += length;
          continue;
        }
        item = Buffer.allocUnsafe(length);
        itemFill = 0;
      }
      const take = Math.min(item.length - itemFill, chunk.length - at);
      chunk.copy(item, itemFill, at, at + take);
      itemFill += take;
      at += take;
      if (itemFill === item.length) {
        const whole = item;
        item = null;
        onItem!(whole);
      }
    }
  });
  return {
    name,
    run: (count, size) =>
      new Promise<StreamRun>((resolve, reject) => {
        let items = 0;
        let bytes = 0;
        let wrong = 0;
        const begin = process.hrtime.bigint();
        const finish = () => {
          onItem = null;
          socket.off('close', lost);
          resolve({ seconds: Number(process.hrtime.bigint() - begin) / 1e9, items, bytes, wrong });
        };
        const lost = () => reject(new Error(`raw stream server closed the connection after ${items} of ${count} items`));
        socket.once('close', lost);
        onItem = (each) => {
          items++;
          bytes += each.length;
          if (each.length !== size) wrong++;
          if (items === count) finish();
        };
        const request = Buffer.alloc(8);
        request.writeUInt32LE(count, 0);
        request.writeUInt32LE(size, 4);
        socket.write(request);
        if (count === 0) finish();
      }),
    close: async () => {
      socket.destroy();
    },
  };
}
