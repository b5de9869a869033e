import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { defineContract } from '../../contracts/contract';
import { Endpoint } from '../../decorators/endpoint.decorator';
import { Service } from '../../decorators/service.decorator';
import { resolveConfig, type MeshOptions } from '../../config/config';
import { Mesh } from '../../runtime/mesh';
import { ServiceHost } from '../../runtime/service-host';
import { testCerts } from '../../testing/certs';
import { startNatsServer, type NatsServerProcess } from '../../testing/nats-server';
import { tempRuntimeDir } from '../../testing/temp-runtime';

interface AdderApi {
  add(a: number, b: number): number;
}
const Adder = defineContract<AdderApi>('nats-secure-adder');
@Service(Adder)
class AdderService implements AdderApi {
  @Endpoint()
  add(a: number, b: number): number {
    return a + b;
  }
}

// A nats-server that wants a token, and one that speaks only mutual TLS with certificates
// of the deployment's CA (the same files `hostmesh certs` makes for TCP + TLS).
describe('securing the link to NATS', () => {
  const runtime = tempRuntimeDir();
  const certs = testCerts([{ name: 'a', addresses: [] }], 'hm-nats-certs-');
  const strangers = testCerts([{ name: 'a', addresses: [] }], 'hm-nats-strangers-');
  let nats: NatsServerProcess | undefined;
  const hosts: ServiceHost[] = [];
  const meshes: Mesh[] = [];

  afterEach(async () => {
    for (const mesh of meshes.splice(0)) await mesh.close(100);
    for (const host of hosts.splice(0)) await host.stop();
    await nats?.stop();
    nats = undefined;
  }, 20_000);
  afterAll(() => {
    runtime.remove();
    certs.remove();
    strangers.remove();
  });

  // The client is on "another host" (its own runtime directory): it finds the service only
  // through NATS, so a refused connection to NATS shows in discovery as well as in the call.
  const clientHost = tempRuntimeDir();
  afterAll(() => clientHost.remove());

  async function serveAndCall(namespace: string, service: MeshOptions, client: MeshOptions): Promise<unknown> {
    const base = { runtimeDir: runtime.path, namespace, logLevel: 'silent' as const, gracePeriodMs: 500 };
    hosts.push(await ServiceHost.start(AdderService, { ...base, ...service, bindings: { '*': 'nats' } }));
    const mesh = Mesh.connect({ ...base, runtimeDir: clientHost.path, defaultTimeoutMs: 1500, ...client });
    meshes.push(mesh);
    return mesh.client(Adder, { binding: 'nats' }).add(2, 3);
  }

  it('connects with the token the server wants, and fails typed without it', async () => {
    nats = await startNatsServer({ args: ['--auth', 's3cret-token'] });
    const ok = { nats: { servers: nats.url, token: 's3cret-token' } };
    await expect(serveAndCall(`tok-${process.pid}`, ok, ok)).resolves.toBe(5);
    const started = Date.now();
    const refused = await serveAndCall(`tok2-${process.pid}`, ok, { nats: { servers: nats.url } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'PeerRefusedError', retryable: false });
    expect(Date.now() - started).toBeLessThan(1500); // at once, not at the call's timeout
    expect(String((refused as Error).message)).toMatch(/NATS .*refused.*(authorization|AUTHORIZATION)/i);
  }, 30_000);

  it('speaks mutual TLS to a server that verifies client certificates, and fails typed with a stranger CA', async () => {
    const files = certs.tls('a');
    nats = await startNatsServer({ args: ['--tlsverify', '--tlscert', files.cert, '--tlskey', files.key, '--tlscacert', files.ca] });
    const ok = { tls: files, nats: { servers: nats.url, tls: true } };
    await expect(serveAndCall(`tls-${process.pid}`, ok, ok)).resolves.toBe(5);
    const stranger = { tls: strangers.tls('a'), nats: { servers: nats.url, tls: true } };
    const refused = await serveAndCall(`tls2-${process.pid}`, ok, stranger).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'TlsError', retryable: false });
  }, 30_000);

  it('fails typed when nats.tls is set and the server offers no TLS', async () => {
    nats = await startNatsServer();
    const files = certs.tls('a');
    const plain = { nats: { servers: nats.url } };
    const refused = await serveAndCall(`notls-${process.pid}`, plain, { tls: files, nats: { servers: nats.url, tls: true } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'TlsError', retryable: false });
  }, 30_000);

  it('refuses plaintext to a NATS server off loopback unless told, and nats.tls without tls files', () => {
    expect(() => resolveConfig({ nats: { servers: 'nats://10.0.0.5:4222' } }, {})).toThrow(
      /nats\.servers="nats:\/\/10\.0\.0\.5:4222".*nats\.tls \(HOSTMESH_NATS_TLS=1\)/,
    );
    // The scheme does not make the client insist on TLS (the server's INFO does): not an opt-out.
    expect(() => resolveConfig({ nats: { servers: 'tls://10.0.0.5:4222' } }, {})).toThrow(/nats\.servers="tls:/);
    expect(resolveConfig({ nats: { servers: 'nats://10.0.0.5:4222', insecure: true } }, {}).transports.nats?.servers).toEqual(['nats://10.0.0.5:4222']);
    expect(resolveConfig({ tls: certs.tls('a') }, { HOSTMESH_NATS_SERVERS: '10.0.0.5:4222', HOSTMESH_NATS_TLS: '1' }).transports.nats?.tls).toEqual(
      certs.tls('a'),
    );
    expect(() => resolveConfig({ nats: { servers: 'nats://127.0.0.1:4222', tls: true } }, {})).toThrow(/nats\.tls=true: expected the tls files/);
    expect(() => resolveConfig({ nats: { servers: 'nats://127.0.0.1:4222', user: 'u' } }, {})).toThrow(/nats\.pass/);
  });
});
