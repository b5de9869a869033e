import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { EventEmitter } from 'node:events';
import { ServiceBroker, Transporters } from 'moleculer';
import type { BenchTarget } from '../targets';

const LOOPBACK = '127.0.0.1';

/** The node id of the echo server, which the client lists statically in its `urls`. */
export const MOLECULER_SERVER_NODE = 'bench-echo-server';

/**
 * The TCP transporter's parser drops any packet over `maxPacketSize` (1 MiB by default)
 * and closes the socket, which rejects the call (RequestRejectedError). The default JSON
 * serializer writes each byte as decimal text plus a comma (see moleculerTarget): 2× the
 * payload for the bench's all-7s payloads, up to ~3.6× for random bytes, so a 1 MiB
 * payload is a 2–3.7 MB packet: a moleculer user sending 1 MiB has to raise this, and so
 * does the bench. With 16 MiB, bench payloads up to just under 8 MiB (random ones up to
 * ~4.4 MiB) get through; bigger ones fail rather than grind: the parser re-concatenates
 * a packet's buffered chunks on every chunk, quadratic in the packet's size (a 4 MiB
 * round trip already takes ~2 s).
 */
const MAX_PACKET_SIZE = 16 * 1024 * 1024;

/*
 * Moleculer's TCP transporter listens on every interface (`listen({ port })`, with no
 * host option) and tells its peers to dial its hostname or first non-internal IPv4
 * address. The bench must stay on loopback, so this subclass listens on 127.0.0.1 only
 * and dials every node at 127.0.0.1. The reader and writer are not exported by the
 * package (its `exports` allow only the root), so they are loaded by file path; the
 * version is pinned exactly in package.json.
 */
interface TcpReader {
  opts: { port?: number | null };
  server: Server | null;
  connected?: boolean;
  onTcpClientConnected(socket: Socket): void;
  listen(): Promise<number>;
  close(): void;
}
type TcpWriter = EventEmitter & { close(): void };
const tcpInternals = join(dirname(require.resolve('moleculer')), 'src', 'transporters', 'tcp');

const TcpReaderClass = require(join(tcpInternals, 'tcp-reader.js')) as new (transporter: unknown, opts: unknown) => TcpReader;

const TcpWriterClass = require(join(tcpInternals, 'tcp-writer.js')) as new (transporter: unknown, opts: unknown) => TcpWriter;

class LoopbackTcpReader extends TcpReaderClass {
  /** moleculer's TcpReader.listen, with `host: 127.0.0.1`. */
  override listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.onTcpClientConnected(socket));
      server.once('error', reject);
      server.listen({ host: LOOPBACK, port: this.opts.port ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        this.opts.port = (server.address() as AddressInfo).port;
        this.connected = true;
        resolve(this.opts.port);
      });
      this.server = server;
    });
  }
}

export class LoopbackTcpTransporter extends Transporters.TCP {
  declare reader: TcpReader | null;
  declare writer: TcpWriter | null;

  /** moleculer's TcpTransporter.startTcpServer, with the loopback reader. */
  override startTcpServer(): Promise<void> {
    this.writer = new TcpWriterClass(this, this.opts);
    this.reader = new LoopbackTcpReader(this, this.opts);
    this.writer.on('error', (_error: Error, nodeID: string) => this.nodes.disconnected(nodeID, false));
    this.writer.on('end', (nodeID: string) => this.nodes.disconnected(nodeID, false));
    return this.reader.listen().then(() => undefined);
  }

  override getNodeAddress(): string {
    return LOOPBACK;
  }
}

/** A loopback-only TCP transporter without UDP discovery: peers come from `urls`. */
export function loopbackTransporter(port: number, urls?: string): LoopbackTcpTransporter {
  return new LoopbackTcpTransporter({
    port,
    urls,
    udpDiscovery: false,
    useHostname: false,
    maxPacketSize: MAX_PACKET_SIZE,
  } as Transporters.TCP.TcpTransporterOptions);
}

/**
 * A moleculer client broker calling `echo.echo` on the server broker over the TCP
 * transporter (loopback only, static `urls`, no UDP discovery), default JSON serializer.
 *
 * What that serializer does with the payload: the request packet is `JSON.stringify`ed
 * whole, so the Buffer in `params` goes through Buffer#toJSON and travels as
 * `{"type":"Buffer","data":[7,7,7,...]}`, a decimal array 2× (all single digits) to
 * ~3.6× (random bytes) the payload's size.
 * JSON.parse on the server does not turn it back into a Buffer: the action gets (and
 * echoes) that plain `{ type: 'Buffer', data: number[] }` object, and the client gets the
 * same object back. That is what a moleculer user sending a Buffer gets by default; this
 * target does not convert it back (`Buffer.from(reply.data)` would), as the NestJS peer
 * does not decode its base64.
 *
 * The object shape goes as `params` too, its `data` serialized the same way.
 *
 * The client's own TCP server (moleculer replies over a connection the server opens to
 * the client) listens on `clientPort` (0: any free port), on 127.0.0.1 too.
 */
export async function moleculerTarget(serverPort: number, clientPort: number): Promise<BenchTarget> {
  const broker = new ServiceBroker({
    nodeID: `bench-echo-client-${process.pid}`,
    transporter: loopbackTransporter(clientPort, `${LOOPBACK}:${serverPort}/${MOLECULER_SERVER_NODE}`),
    logger: false,
    requestTimeout: 60_000,
  });
  await broker.start();
  try {
    await broker.waitForServices('echo', 10_000);
  } catch (error) {
    await broker.stop();
    throw new Error(`moleculer echo service not found on 127.0.0.1:${serverPort}: ${(error as Error).message}`);
  }
  return {
    name: 'moleculer TCP',
    skips: (_workload, size) =>
      size >= 1 << 20
        ? "moleculer's TCP packet reader re-concatenates a packet on every chunk (quadratic in its size): 64 × 1 MiB in flight ran at ~3.7 msg/s on its own, minutes per round"
        : undefined,
    roundTrip: (payload) => broker.call('echo.echo', payload),
    roundTripObject: (payload) => broker.call('echo.echo', payload),
    close: () => broker.stop(),
  };
}
