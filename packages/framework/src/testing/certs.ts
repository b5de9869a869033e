import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFileOptions } from '../core/tls-files';
import { generateDevCerts, type DevCertHost } from '../core/dev-certs';

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
