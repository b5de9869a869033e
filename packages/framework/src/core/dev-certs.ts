import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

/** One host to issue a certificate for: its name (file name, CN) and the IPs/DNS names peers reach it by. */
export interface DevCertHost {
  name: string;
  /** IP addresses or DNS names; 127.0.0.1 and localhost are always added. */
  addresses?: string[];
}

export interface DevCertsOptions {
  /** Where the files go (created 0700 if missing). */
  outDir: string;
  hosts: DevCertHost[];
  /** Validity in days (default 825). */
  days?: number;
  /** The openssl binary (default `openssl` on PATH). */
  openssl?: string;
}

export interface DevCertFiles {
  cert: string;
  key: string;
}

export interface DevCerts {
  ca: DevCertFiles;
  /** `true` when an existing CA in outDir was reused. */
  reusedCa: boolean;
  hosts: Record<string, DevCertFiles & { altNames: string[] }>;
}

const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/**
 * Parses `name=ip,name2=ip2` (also `name=ip+dns`, or a bare `name`): the `--hosts` syntax of
 * `hostmesh certs`.
 */
export function parseDevCertHosts(spec: string): DevCertHost[] {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [name, rest] = part.split('=', 2) as [string, string | undefined];
      if (!HOST_NAME.test(name)) throw new Error(`invalid host name '${name}' in '${part}': expected letters, digits, '.', '_' or '-'`);
      const addresses = (rest ?? '')
        .split('+')
        .map((a) => a.trim())
        .filter(Boolean);
      for (const address of addresses) {
        if (isIP(address) === 0 && !/^[a-zA-Z0-9*][a-zA-Z0-9.-]*$/.test(address))
          throw new Error(`invalid address '${address}' for host '${name}': expected an IP or a DNS name`);
      }
      return { name, addresses };
    });
}

/**
 * A development PKI made with the openssl CLI: a local CA (reused when `ca.crt` and `ca.key`
 * already exist in `outDir`) and, per host, a certificate for both server and client use
 * whose SANs are the given addresses plus 127.0.0.1 and localhost. Every file is 0600.
 */
export function generateDevCerts(options: DevCertsOptions): DevCerts {
  const openssl = options.openssl ?? 'openssl';
  const days = String(options.days ?? 825);
  const out = resolve(options.outDir);
  const hosts = options.hosts.length > 0 ? options.hosts : [{ name: hostname() }];
  const names = new Set<string>();
  for (const host of hosts) {
    if (!HOST_NAME.test(host.name) || host.name === 'ca') throw new Error(`invalid host name '${host.name}'`);
    if (names.has(host.name)) throw new Error(`host '${host.name}' is listed twice`);
    names.add(host.name);
  }
  const run = (args: string[]) => {
    try {
      execFileSync(openssl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') throw new Error(`${openssl} not found: install openssl (e.g. apt-get install openssl) to generate certificates`);
      throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
    }
  };
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const ca = { cert: join(out, 'ca.crt'), key: join(out, 'ca.key') };
  const reusedCa = existsSync(ca.cert) && existsSync(ca.key);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  if (!reusedCa) {
    run([
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      ca.key,
      '-out',
      ca.cert,
      '-days',
      days,
      '-subj',
      '/CN=hostmesh development CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    chmodSync(ca.key, 0o600);
    chmodSync(ca.cert, 0o600);
  }
  const issued: DevCerts['hosts'] = {};
  for (const host of hosts) {
    const files = { cert: join(out, `${host.name}.crt`), key: join(out, `${host.name}.key`) };
    const csr = join(out, `${host.name}.csr`);
    const ext = join(out, `${host.name}.ext`);
    const altNames = [
      ...new Set([...(host.addresses ?? []), ...(isIP(host.name) === 0 && /^[a-zA-Z0-9.-]+$/.test(host.name) ? [host.name] : []), '127.0.0.1', 'localhost']),
    ].map((a) => (isIP(a) === 0 ? `DNS:${a}` : `IP:${a}`));
    try {
      run(['req', ...ecKey, '-keyout', files.key, '-out', csr, '-subj', `/CN=${host.name}`]);
      writeFileSync(
        ext,
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${altNames.join(',')}\n`,
        { mode: 0o600 },
      );
      run([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-set_serial',
        `0x${randomBytes(16)
          .toString('hex')
          .replace(/^[89a-f]/, '1')}`,
        '-days',
        days,
        '-sha256',
        '-extfile',
        ext,
        '-out',
        files.cert,
      ]);
    } finally {
      rmSync(csr, { force: true });
      rmSync(ext, { force: true });
    }
    chmodSync(files.key, 0o600);
    chmodSync(files.cert, 0o600);
    issued[host.name] = { ...files, altNames };
  }
  return { ca, reusedCa, hosts: issued };
}
