import { createServer, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { inject, injectable } from 'inversify';
import { BootstrapError, ServiceUnavailableError, TlsError } from '../../core/errors/errors';
import type { Logger } from '../../core/logger';
import type { TlsFileOptions } from '../../core/tls-files';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../contract/transport';
import { connectSocket } from '../kit/connect-socket';
import { SocketConnection } from '../kit/socket-connection';
import { SocketListener } from '../kit/socket-listener';
import { isLoopback, isTlsFailure, loadTlsMaterial, type TlsMaterial } from '../kit/tls-options';
import { TCP_OPTIONS, type TcpOptions } from './tcp.options';

interface TcpSettings {
  host: string;
  port: number;
  /** Mutual TLS (PEM file paths); see docs/multi-host.md. */
  tls?: TlsFileOptions;
  /** Plaintext off loopback: allowed only when set. */
  insecure?: boolean;
}

/**
 * TCP sockets, for peers on other hosts. Binds loopback unless a host is configured; with
 * `tls`, the listener is a TLS server that requires and verifies client certificates, and
 * connections to listeners that announce `tls: true` are TLS with this process's
 * certificate. Plaintext never leaves loopback unless `tcp.insecure` says so.
 */
@injectable('Singleton')
export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  private readonly options: TcpSettings;
  private readonly logger: Logger;
  private material: TlsMaterial | undefined;

  constructor(
    @inject(TCP_OPTIONS) options: Pick<TcpOptions, 'host' | 'port'> & Partial<TcpOptions>,
    @inject(TRANSPORT_CONTEXT) context: Pick<TransportContext, 'logger' | 'tls'>,
  ) {
    this.options = { host: options.host, port: options.port, tls: context.tls, insecure: options.insecure === true };
    this.logger = context.logger.child('tcp');
  }

  withOptions(options: Record<string, unknown>): Transport {
    const host = typeof options.host === 'string' ? options.host : this.options.host;
    const port = typeof options.port === 'number' ? options.port : this.options.port;
    const tls = typeof options.tls === 'object' && options.tls !== null ? (options.tls as TlsFileOptions) : this.options.tls;
    const insecure = typeof options.insecure === 'boolean' ? options.insecure : this.options.insecure;
    return new TcpTransport({ host, port, insecure }, { logger: this.logger, tls });
  }

  /** The checked PEM material, read on first use. */
  private tlsMaterial(): TlsMaterial {
    if (this.material === undefined) {
      this.material = loadTlsMaterial(this.options.tls!);
      if (this.material.warning) this.logger.warn(this.material.warning);
    }
    return this.material;
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const { host } = this.options;
    if (this.options.tls) return this.listenTls(request);
    if (!isLoopback(host) && !this.options.insecure) {
      throw new BootstrapError(
        `refusing a plaintext TCP listener on non-loopback tcp.host=${host}: set tls (HOSTMESH_TLS_CA, HOSTMESH_TLS_CERT, HOSTMESH_TLS_KEY) for mutual TLS, ` +
          `or tcp.insecure=true (HOSTMESH_TCP_INSECURE=1) to accept plaintext from the network`,
      );
    }
    const server = createServer();
    SocketListener.accept(
      server,
      request.maxPayloadBytes,
      (socket) => ({ kind: 'tcp', address: `${socket.remoteAddress}:${socket.remotePort}` }),
      request.onConnection,
      request.inbound,
    );
    const port = await this.bind(server);
    return new SocketListener(server, { kind: 'tcp', host, port }, async () => undefined);
  }

  private async listenTls(request: ListenRequest): Promise<TransportServer> {
    const material = this.tlsMaterial();
    const server = createTlsServer({
      ca: material.ca,
      cert: material.cert,
      key: material.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    const peers = new WeakMap<object, string>();
    server.on('secureConnection', (socket: TLSSocket) => {
      socket.setNoDelay(true);
      const subject = (socket.getPeerCertificate() as { subject?: { CN?: string } } | undefined)?.subject?.CN;
      request.onConnection(
        new SocketConnection(
          socket,
          { kind: 'tcp', address: `${socket.remoteAddress}:${socket.remotePort}${subject ? ` (CN=${subject})` : ''}` },
          request.maxPayloadBytes,
          {
            inbound: request.inbound,
          },
        ),
      );
    });
    // A peer that fails the handshake (unknown CA, no certificate, not TLS at all) is
    // dropped by the TLS layer; say so once per address and keep serving everyone else.
    server.on('connection', (raw: Socket) => {
      peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`);
    });
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      const from = socket.remoteAddress ?? peers.get((socket as unknown as { _parent?: Socket })._parent ?? socket) ?? 'an unknown address';
      this.logger.once(
        `tls-refused:${from}:${error.code ?? error.message}`,
        'warn',
        `refused TLS connection to ${request.service} from ${from}: ${error.code ?? ''} ${error.message}`.trim(),
      );
      socket.destroy();
    });
    const port = await this.bind(server);
    this.logger.debug(`TLS listener on ${this.options.host}:${port} as ${material.subject}`);
    const address = { kind: 'tcp', host: this.options.host, port, tls: true } as TransportAddress;
    return new SocketListener(server, address, async () => undefined);
  }

  private async bind(server: ReturnType<typeof createServer>): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.host, port: this.options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    return typeof bound === 'object' && bound ? bound.port : this.options.port;
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'tcp') throw new TypeError(`tcp transport cannot connect to a ${address.kind} address`);
    const where = `${address.host}:${address.port}`;
    if ((address as { tls?: unknown }).tls === true) return this.connectTls(address.host, address.port, where, request);
    if (!isLoopback(address.host) && !this.options.insecure) {
      throw new TlsError(
        `refusing plaintext TCP to non-loopback ${where}: the service has no TLS listener; give both ends tls, or set tcp.insecure=true (HOSTMESH_TCP_INSECURE=1)`,
        { data: { address: where } },
      );
    }
    const socket = await connectSocket({ host: address.host, port: address.port }, where, request.timeoutMs);
    socket.setNoDelay(true);
    return new SocketConnection(socket, { kind: 'tcp', address: where }, request.maxPayloadBytes);
  }

  private connectTls(host: string, port: number, where: string, request: ConnectRequest): Promise<Connection> {
    if (!this.options.tls) {
      return Promise.reject(
        new TlsError(`${where} requires TLS: set the tls option (HOSTMESH_TLS_CA, HOSTMESH_TLS_CERT, HOSTMESH_TLS_KEY) to a certificate of its CA`, {
          data: { address: where },
        }),
      );
    }
    let material: TlsMaterial;
    try {
      material = this.tlsMaterial();
    } catch (error) {
      return Promise.reject(new TlsError(`cannot connect to ${where} over TLS: ${(error as Error).message}`, { cause: error, data: { address: where } }));
    }
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host,
        port,
        ca: material.ca,
        cert: material.cert,
        key: material.key,
        minVersion: 'TLSv1.2',
        // TLS 1.2 on purpose: its handshake ends only after the server has checked our
        // certificate, so a refused one fails here, typed, instead of as a lost connection on
        // the first call (with TLS 1.3 the client is done before the server's verdict).
        maxVersion: 'TLSv1.2',
        // Verify the server against the IP or DNS name we connect to (its SANs).
        ...(isIP(host) ? {} : { servername: host }),
      });
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onClosed);
        if (error) {
          socket.destroy();
          reject(error);
          return;
        }
        socket.setNoDelay(true);
        resolve(new SocketConnection(socket, { kind: 'tcp', address: `${where} (tls)` }, request.maxPayloadBytes));
      };
      const timer = setTimeout(
        () => finish(new ServiceUnavailableError(`connecting to ${where} (TLS) timed out after ${request.timeoutMs} ms`)),
        request.timeoutMs,
      );
      // Once TCP is up, a peer that hangs up before the handshake ends has refused us
      // (a server drops clients whose certificate it does not trust).
      let tcpUp = false;
      socket.once('connect', () => (tcpUp = true));
      const onError = (error: NodeJS.ErrnoException) => {
        finish(
          tcpUp || isTlsFailure(error)
            ? new TlsError(
                `TLS handshake with ${where} failed: ${`${error.code ?? ''} ${error.message}`.trim()}${error.code === 'ECONNRESET' ? ' (the server hung up: does it trust the CA of our certificate?)' : ''}`,
                { cause: error, data: { address: where, reason: error.code } },
              )
            : new ServiceUnavailableError(`cannot connect to ${where}: ${error.code ?? error.message}`, { cause: error }),
        );
      };
      const onClosed = () =>
        finish(new TlsError(`${where} closed the connection during the TLS handshake (does it trust our certificate's CA?)`, { data: { address: where } }));
      socket.once('error', onError);
      socket.once('close', onClosed);
      socket.once('secureConnect', () => finish());
    });
  }
}
