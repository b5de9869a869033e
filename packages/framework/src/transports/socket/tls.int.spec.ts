import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { BootstrapError, ServiceUnavailableError, TlsError } from '../../core/errors/errors';
import { FrameKind, HEADER_BYTES, writeHeader } from '../../protocol/frame';
import { ConsoleLogger } from '../../core/logger';
import { resolveConfig, transportContext } from '../../config/config';
import { testCerts } from '../../testing/certs';
import { describeTransportConformance } from '../../testing/conformance';
import type { Connection, TransportServer } from '../contract/transport';
import { TcpTransport } from './tcp.transport';

// One CA for the suite, one "other" CA for the clients that must be refused.
const certs = testCerts([{ name: 'local' }, { name: 'peer' }]);
const strangers = testCerts([{ name: 'stranger' }], 'hm-certs-other-');
afterAll(() => {
  certs.remove();
  strangers.remove();
});

describeTransportConformance('tcp', {
  label: 'over mutual TLS on 127.0.0.1',
  serverEnv: certs.env('local'),
  meshOptions: { tls: certs.tls('peer') },
});

describe('TLS on the tcp transport', () => {
  const lines: string[] = [];
  const logger = new ConsoleLogger('test', 'debug', { out: (line) => lines.push(line), err: (line) => lines.push(line) });
  const request = { maxPayloadBytes: 1 << 20, timeoutMs: 2000 };
  const tcp = (options: Parameters<typeof resolveConfig>[0]) => {
    const config = resolveConfig({ logLevel: 'silent', ...options }, {});
    return new TcpTransport(config.transports.tcp!, transportContext(config, undefined, logger));
  };

  async function echoServer(transport: TcpTransport): Promise<TransportServer> {
    return transport.listen({
      service: 'echo',
      instance: '0',
      maxPayloadBytes: 1 << 20,
      onConnection: (connection) =>
        connection.bind({
          onFrame: (buffer, start, end) => connection.write(Buffer.from(buffer.subarray(start, end))),
          onProtocolError: () => undefined,
          onClose: () => undefined,
        }),
    });
  }

  function roundTrip(connection: Connection, bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      connection.bind({
        onFrame: (buffer, start, end) => resolve(Buffer.from(buffer.subarray(start, end))),
        onProtocolError: reject,
        onClose: (error) => reject(error ?? new Error('closed')),
      });
      connection.write(bytes);
    });
  }

  it('announces tls: true and refuses a client certificate of another CA with TlsError, serving good clients on', async () => {
    const server = await echoServer(tcp({ tls: certs.tls('local') }));
    try {
      expect(server.address).toMatchObject({ kind: 'tcp', host: '127.0.0.1', tls: true });
      // Trusts the server's CA, but its own certificate comes from another CA.
      const refused = await tcp({ tls: { ...strangers.tls('stranger'), ca: certs.tls('peer').ca } })
        .connect(server.address, request)
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TlsError);
      expect(refused).toMatchObject({ code: 'TLS_FAILED', retryable: false });
      await expectLogged(lines, /refused TLS connection to echo from 127\.0\.0\.1/);
      const good = await tcp({ tls: certs.tls('peer') }).connect(server.address, request);
      const frame = Buffer.alloc(HEADER_BYTES + 4, 7);
      writeHeader(frame, FrameKind.Request, 0, 1, 1, 4);
      await expect(roundTrip(good, frame)).resolves.toEqual(frame);
      good.destroy();
    } finally {
      await server.dispose();
    }
  });

  it('refuses a client without TLS options towards a TLS listener, and a plaintext client that is no TLS peer at all', async () => {
    const server = await echoServer(tcp({ tls: certs.tls('local') }));
    try {
      await expect(tcp({}).connect(server.address, request)).rejects.toThrow(/requires TLS: set the tls option/);
      // A plaintext client (ignoring the announcement) gets no answer; the server logs and serves on.
      const plain = { kind: 'tcp' as const, host: '127.0.0.1', port: (server.address as { port: number }).port };
      const connection = await tcp({}).connect(plain, request);
      const closed = new Promise<void>((resolve) => connection.bind({ onFrame: () => undefined, onProtocolError: () => resolve(), onClose: () => resolve() }));
      connection.write(Buffer.alloc(64, 1));
      await closed;
      const good = await tcp({ tls: certs.tls('peer') }).connect(server.address, request);
      good.destroy();
    } finally {
      await server.dispose();
    }
  });

  it('refuses a client whose CA does not know the server certificate', async () => {
    const server = await echoServer(tcp({ tls: certs.tls('local') }));
    try {
      // The stranger's CA is not the server's: the client rejects the server's certificate.
      const error = await tcp({ tls: { ...certs.tls('peer'), ca: strangers.tls('stranger').ca } })
        .connect(server.address, request)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TlsError);
      expect((error as Error).message).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed/);
    } finally {
      await server.dispose();
    }
  });

  it('refuses a plaintext listener off loopback unless tcp.insecure, naming the options', async () => {
    const error = await tcp({ tcp: { host: '192.0.2.10' } })
      .listen({ service: 's', instance: '0', maxPayloadBytes: 1024, onConnection: () => undefined })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootstrapError);
    expect((error as Error).message).toMatch(/non-loopback tcp\.host=192\.0\.2\.10: set tls .*or tcp\.insecure=true \(HOSTMESH_TCP_INSECURE=1\)/);
  });

  it('refuses plaintext to a non-loopback address unless tcp.insecure, and allows it with the opt-out', async () => {
    const far = { kind: 'tcp' as const, host: '192.0.2.10', port: 9 };
    const error = await tcp({})
      .connect(far, request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TlsError);
    expect((error as Error).message).toMatch(/refusing plaintext TCP to non-loopback 192\.0\.2\.10:9/);
    // With the opt-out it tries (and, TEST-NET-1 being unroutable, fails as a network error).
    const insecure = await tcp({ tcp: { insecure: true } })
      .connect(far, { ...request, timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(insecure).toBeInstanceOf(ServiceUnavailableError);
    expect(resolveConfig({}, { HOSTMESH_TCP_INSECURE: '1' }).transports.tcp?.insecure).toBe(true);
  });

  it('names the option and the file of unreadable or mismatched certificate files', async () => {
    const bad = join(certs.dir, 'not-a-cert.pem');
    writeFileSync(bad, 'hello', { mode: 0o600 });
    const listen = (tls: { ca: string; cert: string; key: string }) =>
      tcp({ tls }).listen({ service: 's', instance: '0', maxPayloadBytes: 1024, onConnection: () => undefined });
    await expect(listen({ ...certs.tls('local'), ca: '/nonexistent/ca.crt' })).rejects.toThrow('cannot read tls.ca file /nonexistent/ca.crt: ENOENT');
    await expect(listen({ ...certs.tls('local'), cert: bad })).rejects.toThrow(`tls.cert file ${bad} is not a PEM certificate`);
    await expect(listen({ ...certs.tls('local'), key: certs.tls('peer').key })).rejects.toThrow(/does not belong to the certificate/);
    expect(() => resolveConfig({}, { HOSTMESH_TLS_CA: '/x' })).toThrow(/invalid option tls\.cert/);
  });
});

async function expectLogged(lines: string[], pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!lines.some((line) => pattern.test(line))) {
    if (Date.now() > deadline) throw new Error(`nothing logged matches ${pattern}:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
