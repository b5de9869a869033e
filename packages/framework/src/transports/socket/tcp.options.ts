import type { OptionReader } from '../../core/options';

/** The TCP listener: loopback unless a host is configured; port 0 picks a free one. */
export interface TcpOptionsInput {
  host?: string;
  port?: number;
  /** Listen on TCP too (what `hostmesh up` sets for services placed on hosts). Env: HOSTMESH_TCP_ENABLED=1. */
  enabled?: boolean;
  /** Allow plaintext TCP off loopback (see `tls`). Env: HOSTMESH_TCP_INSECURE=1. */
  insecure?: boolean;
}

export interface TcpOptions {
  host: string;
  port: number;
  enabled: boolean;
  insecure: boolean;
}

/** Injection token of the resolved TcpOptions. */
export const TCP_OPTIONS = Symbol.for('hostmesh:tcp-options');

/** `tcp` and HOSTMESH_TCP_HOST / _PORT / _ENABLED / _INSECURE. */
export function resolveTcpOptions(input: TcpOptionsInput | undefined, read: OptionReader): TcpOptions {
  return {
    host: input?.host ?? (read.env.HOSTMESH_TCP_HOST || undefined) ?? '127.0.0.1',
    port: read.nonNegative('tcp.port', input?.port ?? read.numberEnv('HOSTMESH_TCP_PORT') ?? 0, 65535),
    enabled: input?.enabled ?? read.flagEnv('HOSTMESH_TCP_ENABLED'),
    insecure: input?.insecure ?? read.flagEnv('HOSTMESH_TCP_INSECURE'),
  };
}
