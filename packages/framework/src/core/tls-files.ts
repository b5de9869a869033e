import type { OptionReader } from './options';

/** PEM file paths for mutual TLS: on the TCP transport, and to a NATS server. */
export interface TlsFileOptions {
  /** The CA certificate that signed every peer's certificate (peers are verified against it). */
  ca: string;
  /** This process's certificate (presented as server and as client). */
  cert: string;
  /** Its private key. */
  key: string;
}

/** The `tls` option, else HOSTMESH_TLS_CA/CERT/KEY; all three or none. */
export function resolveTls(options: TlsFileOptions | undefined, read: OptionReader): TlsFileOptions | undefined {
  const { env } = read;
  const given =
    options ??
    (env.HOSTMESH_TLS_CA || env.HOSTMESH_TLS_CERT || env.HOSTMESH_TLS_KEY
      ? { ca: env.HOSTMESH_TLS_CA ?? '', cert: env.HOSTMESH_TLS_CERT ?? '', key: env.HOSTMESH_TLS_KEY ?? '' }
      : undefined);
  if (given === undefined) return undefined;
  for (const field of ['ca', 'cert', 'key'] as const) {
    const value = given[field];
    if (typeof value !== 'string' || value === '') {
      read.fail(`tls.${field}`, value ?? null, `a PEM file path (tls needs ca, cert and key; env HOSTMESH_TLS_${field.toUpperCase()})`);
    }
  }
  return { ca: given.ca, cert: given.cert, key: given.key };
}
