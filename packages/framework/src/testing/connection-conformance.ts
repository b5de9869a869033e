import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Container } from 'inversify';
import { resolveConfig, type MeshOptions } from '../config/config';
import { FrameError } from '../core/errors/errors';
import { ConsoleLogger } from '../core/logger';
import { pluginOf } from '../plugins/transport-plugins';
import { checkHeader, FrameKind, HEADER_BYTES, writeHeader } from '../protocol/frame';
import { createMeshContainer } from '../runtime/container';
import { TransportRegistry } from '../transports/contract/transport-registry';
import type { Connection, Transport, TransportKind, TransportServer } from '../transports/contract/transport';
import { sleep } from './spawn-service';
import { tempRuntimeDir } from './temp-runtime';

const MAX_PAYLOAD = 4 << 20;

/** A frame whose body is `body`, or `size` bytes counting up from `seed`. */
function frame(id: number, size: number, seed = id): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + size);
  writeHeader(out, FrameKind.Event, 0, id, 7, size);
  for (let i = 0; i < size; i++) out[HEADER_BYTES + i] = (seed + i) & 0xff;
  return out;
}

interface End {
  connection: Connection;
  /** Frames received, copied (a transient frame's bytes are the transport's again after the call). */
  frames: Buffer[];
  errors: Error[];
  closed: Promise<Error | undefined>;
}

/** `failOn`: the id of a frame whose delivery throws, as a bug in the layer above would. */
function attach(connection: Connection, echo = false, failOn = -1): End {
  const end: End = { connection, frames: [], errors: [], closed: undefined as never };
  end.closed = new Promise((resolve) =>
    connection.bind({
      onFrame: (buffer, start, end_) => {
        if (buffer.readUInt32LE(start + 4) === failOn) throw new TypeError(`frame ${failOn} broke the handler`);
        // Whole frames only: the range is one frame, as its header says.
        const length = checkHeader(buffer, start, MAX_PAYLOAD);
        if (end_ - start !== HEADER_BYTES + length) throw new Error(`a range of ${end_ - start} bytes for a frame of ${HEADER_BYTES + length}`);
        const copy = Buffer.from(buffer.subarray(start, end_));
        end.frames.push(copy);
        if (echo) connection.write(copy);
      },
      onProtocolError: (error) => end.errors.push(error),
      onClose: (error) => resolve(error),
    }),
  );
  return end;
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * The fast level of conformance: one transport's `Connection`s, in this process, with no
 * service, codec or rpc above them: frames in order both ways, whole frames only, a frame
 * larger than any buffer on the way, backpressure, pause and resume, close and destroy, and
 * bytes that are not frames. Every plugin runs it (`TRANSPORT_PLUGINS.forEach`); the
 * process-level suite (describeTransportConformance) then runs a real service.
 */
export function describeConnectionConformance(kind: TransportKind, meshOptions: MeshOptions = {}): void {
  const eventsOnly = pluginOf(kind)?.capabilities.eventsOnly ?? false;
  const both = eventsOnly ? ((() => undefined) as unknown as typeof it) : it;

  describe(`${kind} connections (in process)`, () => {
    const runtime = tempRuntimeDir('hm-cc-');
    let container: Container;
    let transport: Transport;
    const servers: TransportServer[] = [];
    const open: Connection[] = [];
    let sequence = 0;

    beforeAll(() => {
      const config = resolveConfig({ logLevel: 'silent', runtimeDir: runtime.path, namespace: `cc-${kind}`, maxPayloadBytes: MAX_PAYLOAD, ...meshOptions });
      container = createMeshContainer(config, { logger: new ConsoleLogger('cc', 'silent') }, 'cc');
      transport = container.get(TransportRegistry).resolve(kind);
    });

    afterAll(async () => {
      for (const connection of open) connection.destroy();
      for (const server of servers) {
        await server.stopAccepting();
        await server.dispose();
      }
      runtime.remove();
    });

    /** A listener and one connection to it: the client's end, and the service's. */
    async function pair(echo = false, failOn = -1): Promise<{ client: End; server: End }> {
      const accepted: Connection[] = [];
      const server = await transport.listen({
        service: `cc${++sequence}`,
        instance: '0',
        maxPayloadBytes: MAX_PAYLOAD,
        onConnection: (connection) => accepted.push(connection),
      });
      servers.push(server);
      const connection = await transport.connect(server.address, { maxPayloadBytes: MAX_PAYLOAD, timeoutMs: 5000 });
      open.push(connection);
      const client = attach(connection);
      await until(() => accepted.length > 0, 'the accepted connection');
      open.push(accepted[0]!);
      return { client, server: attach(accepted[0]!, echo, failOn) };
    }

    it('carries 1000 frames in order, every range one whole frame', async () => {
      const { client, server } = await pair();
      for (let i = 0; i < 1000; i++) {
        if (!client.connection.write(frame(i, i % 200))) await client.connection.whenWritable();
      }
      await until(() => server.frames.length === 1000, '1000 frames');
      expect(server.frames.map((f) => f.readUInt32LE(4))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(server.frames.every((f, i) => f.equals(frame(i, i % 200)))).toBe(true);
    });

    both('carries frames back on the same connection', async () => {
      const { client } = await pair(true);
      for (let i = 0; i < 100; i++) client.connection.write(frame(i, 64));
      await until(() => client.frames.length === 100, '100 echoed frames');
      expect(client.frames.every((f, i) => f.equals(frame(i, 64)))).toBe(true);
    });

    it('carries a 3 MiB frame byte for byte, also from a frame and a separate tail', async () => {
      const { client, server } = await pair();
      const big = frame(1, 3 << 20, 11);
      client.connection.write(big);
      const second = frame(2, 1 << 20, 5);
      client.connection.write(second.subarray(0, HEADER_BYTES + 100), second.subarray(HEADER_BYTES + 100));
      await until(() => server.frames.length === 2, 'two large frames', 10_000);
      expect(server.frames[0]!.equals(big)).toBe(true);
      expect(server.frames[1]!.equals(second)).toBe(true);
    });

    both('holds frames back while paused and delivers every one after resume()', async () => {
      const { client, server } = await pair();
      server.connection.pause();
      for (let i = 0; i < 50; i++) client.connection.write(frame(i, 32));
      await sleep(100);
      const whilePaused = server.frames.length;
      server.connection.resume();
      await until(() => server.frames.length === 50, '50 frames after resume');
      // A transport may hand out what it had read already; most must have waited.
      expect(whilePaused).toBeLessThan(50);
      expect(server.frames.map((f) => f.readUInt32LE(4))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    both(
      'turns writable false when the peer does not read, and whenWritable() resolves once it does',
      async () => {
        const { client, server } = await pair();
        server.connection.pause();
        let written = 0;
        // Bounded: 256 MiB of 64 KiB frames is more than any transport's buffers (shm's: its
        // ring and its large-payload pool, 128 MiB by default).
        while (client.connection.write(frame(written, 64 << 10)) && written < 4096) written++;
        expect(written).toBeLessThan(4096);
        expect(client.connection.writable).toBe(false);
        const drained = client.connection.whenWritable();
        server.connection.resume();
        await drained;
        await until(() => server.frames.length === written + 1, 'every frame written', 20_000);
      },
      30_000,
    );

    both('close() flushes what was written, then both ends see onClose without an error', async () => {
      const { client, server } = await pair();
      for (let i = 0; i < 20; i++) client.connection.write(frame(i, 1000));
      client.connection.close();
      expect(await client.closed).toBeUndefined();
      expect(await server.closed).toBeUndefined();
      expect(server.frames).toHaveLength(20);
    });

    both('destroy() ends the connection at once, and the peer sees it close', async () => {
      const { client, server } = await pair();
      client.connection.destroy(new Error('going away'));
      expect(await client.closed).toEqual(new Error('going away'));
      await server.closed;
      expect(server.connection.write(frame(1, 10))).toBe(false);
    });

    both('ends only the connection whose handler throws, with a FrameError that says why: the process and the other connections go on', async () => {
      const broken = await pair(false, 2);
      const other = await pair();
      broken.client.connection.write(frame(1, 10));
      broken.client.connection.write(frame(2, 10));
      const error = await broken.server.closed;
      expect(error).toBeInstanceOf(FrameError);
      expect(error!.message).toContain('frame 2 broke the handler');
      expect(broken.server.errors).toEqual([error]);
      expect(broken.server.frames.map((f) => f.readUInt32LE(4))).toEqual([1]);
      other.client.connection.write(frame(3, 10));
      await until(() => other.server.frames.length === 1, 'a frame on the other connection');
    });

    both('drops a peer that sends bytes that are not frames, with a FrameError', async () => {
      const { client, server } = await pair();
      const garbage = Buffer.alloc(64, 0x42);
      client.connection.write(garbage);
      const error = await server.closed;
      expect(error).toBeInstanceOf(FrameError);
      expect(server.errors[0]).toBeInstanceOf(FrameError);
    });
  });
}
