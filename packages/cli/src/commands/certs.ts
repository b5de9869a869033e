import { generateDevCerts, parseDevCertHosts } from '@hostmesh/framework/internal';

export interface CertsOptions {
  out?: string;
  hosts?: string;
  days?: number;
  json?: boolean;
}

/**
 * `hostmesh certs [--out DIR] [--hosts name=ip,...]`: a development PKI for TCP + TLS between
 * hosts: a local CA (reused if DIR already has one) and a certificate + key per host whose
 * SANs are the given addresses plus 127.0.0.1 and localhost. Files are 0600. Needs the
 * openssl CLI. Point each host's HOSTMESH_TLS_CA/CERT/KEY at ca.crt, <host>.crt, <host>.key.
 */
export async function certs(options: CertsOptions): Promise<number> {
  const outDir = options.out ?? 'hostmesh-certs';
  const made = generateDevCerts({ outDir, hosts: options.hosts ? parseDevCertHosts(options.hosts) : [], days: options.days });
  if (options.json) {
    process.stdout.write(JSON.stringify(made) + '\n');
    return 0;
  }
  const lines = [`${made.reusedCa ? 'reused' : 'created'} CA ${made.ca.cert} (key ${made.ca.key}: keep it private)`];
  for (const [name, files] of Object.entries(made.hosts)) {
    lines.push(`${name}: ${files.cert}, ${files.key} (${files.altNames.join(', ')})`);
  }
  const [first] = Object.keys(made.hosts);
  lines.push(
    '',
    `on host ${first}:`,
    `  export HOSTMESH_TLS_CA=${made.ca.cert} HOSTMESH_TLS_CERT=${made.hosts[first!]!.cert} HOSTMESH_TLS_KEY=${made.hosts[first!]!.key}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
