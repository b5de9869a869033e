import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TlsFileOptions } from '../core/tls-files';
import { generateDevCerts, type DevCertHost } from '../core/dev-certs';
import { registerRawChannel, type RawChannel } from './raw-channel';

/** A throw-away PKI for one test file: a CA and one certificate per host, in a temp directory. */
export interface TestCerts {
  dir: string;
  /** `tls` options of one host. */
  tls(host: string): TlsFileOptions;
  /** HOSTMESH_TLS_* variables of one host, for a spawned service. */
  env(host: string): NodeJS.ProcessEnv;
  remove(): void;
}

/** Generates certificates with the openssl CLI (synchronously, so suites can use them at definition time). */
export function testCerts(hosts: DevCertHost[], prefix = 'hm-certs-'): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const made = generateDevCerts({ outDir: dir, hosts, days: 2 });
  const tls = (host: string): TlsFileOptions => {
    const files = made.hosts[host];
    if (!files) throw new Error(`no certificate for host '${host}'`);
    return { ca: made.ca.cert, cert: files.cert, key: files.key };
  };
  return {
    dir,
    tls,
    env: (host) => {
      const files = tls(host);
      return { HOSTMESH_TLS_CA: files.ca, HOSTMESH_TLS_CERT: files.cert, HOSTMESH_TLS_KEY: files.key };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Makes the conformance suite's raw `tcp` channel speak TLS with `files` (for the malformed-frame cases). */
export function registerTlsRawChannel(files: TlsFileOptions): void {
  const ca = readFileSync(files.ca);
  const cert = readFileSync(files.cert);
  const key = readFileSync(files.key);
  registerRawChannel('tcp', (descriptor) => {
    const address = descriptor.listeners.tcp;
    if (address?.kind !== 'tcp') return Promise.reject(new Error(`${descriptor.service} has no tcp listener`));
    return new Promise<RawChannel>((resolve, reject) => {
      const socket = tlsConnect({ host: address.host, port: address.port, ca, cert, key, maxVersion: 'TLSv1.2' });
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      socket.on('data', () => undefined);
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        resolve({ write: (bytes) => socket.write(bytes), closed, close: () => socket.destroy() });
      });
    });
  });
}
