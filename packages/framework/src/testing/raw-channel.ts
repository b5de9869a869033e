import { connect, type Socket } from 'node:net';
import { MessageQueue } from '@hostmesh/native';
import type { TransportKind } from '../metadata/types';
import { resolveConfig, transportContext } from '../config/config';
import type { ServiceDescriptor } from '../discovery/descriptor';
import { ConsoleLogger } from '../core/logger';
import { FifoTransport } from '../transports/fifo/fifo.transport';
import { ShmTransport } from '../transports/shm/shm.transport';

/** A way to put arbitrary bytes on a transport, for the malformed-frame cases. */
export interface RawChannel {
  write(bytes: Buffer): void;
  /** Resolves when the service has closed the channel. */
  readonly closed: Promise<void>;
  close(): void;
}

export type RawChannelFactory = (descriptor: ServiceDescriptor) => Promise<RawChannel>;

const factories = new Map<TransportKind, RawChannelFactory>();

/** Each transport's test support registers how to reach it without the framework. */
export function registerRawChannel(kind: TransportKind, factory: RawChannelFactory): void {
  factories.set(kind, factory);
}

export function rawChannelFactory(kind: TransportKind): RawChannelFactory {
  const factory = factories.get(kind);
  if (!factory) throw new Error(`no raw channel registered for transport '${kind}'`);
  return factory;
}

function socketChannel(socket: Socket): Promise<RawChannel> {
  return new Promise((resolve, reject) => {
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', () => undefined);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({ write: (bytes) => socket.write(bytes), closed, close: () => socket.destroy() });
    });
  });
}

registerRawChannel('uds', async (descriptor) => {
  const address = descriptor.listeners.uds;
  if (address?.kind !== 'uds') throw new Error(`${descriptor.service} has no uds listener`);
  return socketChannel(connect(address.path));
});

registerRawChannel('shm', async (descriptor) => {
  const address = descriptor.listeners.shm;
  if (address?.kind !== 'shm') throw new Error(`${descriptor.service} has no shm listener`);
  const config = resolveConfig({ logLevel: 'silent' }, {});
  const transport = new ShmTransport(config.transports.shm!, transportContext(config, undefined, new ConsoleLogger('raw', 'silent')));
  // A real handshake, then ring messages written as they are: no framing, no checks.
  const connection = await transport.connect(address, { maxPayloadBytes: config.maxPayloadBytes, timeoutMs: 5000 });
  const closed = new Promise<void>((resolve) => connection.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => resolve() }));
  return { write: (bytes) => connection.write(bytes), closed, close: () => connection.destroy() };
});

registerRawChannel('fifo', async (descriptor) => {
  const address = descriptor.listeners.fifo;
  if (address?.kind !== 'fifo') throw new Error(`${descriptor.service} has no fifo listener`);
  const transport = new FifoTransport(transportContext(resolveConfig({ logLevel: 'silent' }, {}), undefined, new ConsoleLogger('raw', 'silent')));
  const connection = await transport.connect(address, { maxPayloadBytes: 1 << 20, timeoutMs: 5000 });
  const closed = new Promise<void>((resolve) => connection.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => resolve() }));
  return { write: (bytes) => connection.write(bytes), closed, close: () => connection.destroy() };
});

registerRawChannel('mqueue', async (descriptor) => {
  const address = descriptor.listeners.mqueue;
  if (address?.kind !== 'mqueue' || typeof address.queue !== 'string') throw new Error(`${descriptor.service} has no mqueue listener`);
  const queue = MessageQueue.open(address.queue);
  // Queues have no connection to drop: `closed` is when this side closes.
  let closed: () => void = () => undefined;
  return {
    write: (bytes) => {
      if (!queue.send(bytes)) throw new Error('queue full');
    },
    closed: new Promise<void>((resolve) => (closed = resolve)),
    close: () => {
      queue.close();
      closed();
    },
  };
});

registerRawChannel('tcp', async (descriptor) => {
  const address = descriptor.listeners.tcp;
  if (address?.kind !== 'tcp') throw new Error(`${descriptor.service} has no tcp listener`);
  return socketChannel(connect({ host: address.host, port: address.port }));
});
