import type { OptionReader } from '../../core/options';
import type { TlsFileOptions } from '../../core/tls-files';

/** Injection token of the resolved NatsConfig. */
export const NATS_OPTIONS = Symbol.for('hostmesh:nats-options');

/**
 * NATS servers for the `nats` transport (see docs/nats.md); without them the transport is not
 * registered and nothing connects to NATS. Env: HOSTMESH_NATS_SERVERS (comma-separated).
 * `heartbeatMs`: how often each connection proves its peer alive (default 500); `announceMs`: how often a service re-announces itself to the other hosts (default 2000; forgotten after 3×).
 */
export interface NatsOptions {
  servers: string | string[];
  heartbeatMs?: number;
  announceMs?: number;
  /** TLS to the NATS server with this process's `tls` files (its CA verifies the server; the certificate is presented to it). Env: HOSTMESH_NATS_TLS=1. */
  tls?: boolean;
  /** Credentials the NATS server requires: a token, or a user and password. Env: HOSTMESH_NATS_TOKEN, HOSTMESH_NATS_USER, HOSTMESH_NATS_PASS. */
  token?: string;
  user?: string;
  pass?: string;
  /** Allow plaintext to a NATS server off loopback. Env: HOSTMESH_NATS_INSECURE=1. */
  insecure?: boolean;
}

export interface NatsConfig {
  servers: string[];
  heartbeatMs: number;
  announceMs: number;
  /** Set when the connection to NATS is TLS (the process's `tls` files). */
  tls?: TlsFileOptions;
  token?: string;
  user?: string;
  pass?: string;
  /** Plaintext off loopback was allowed explicitly. */
  insecure?: boolean;
}

/**
 * `nats` and HOSTMESH_NATS_*: undefined without servers (the transport is then not registered
 * and nothing connects to NATS). TLS to the server uses the process's `tls` files.
 */
export function resolveNatsOptions(options: NatsOptions | undefined, read: OptionReader, tls: TlsFileOptions | undefined): NatsConfig | undefined {
  const { env } = read;
  const raw = options?.servers ?? env.HOSTMESH_NATS_SERVERS;
  if (raw === undefined || raw === '') return undefined;
  const servers = (Array.isArray(raw) ? raw : String(raw).split(',')).map((server) => String(server).trim()).filter(Boolean);
  if (servers.length === 0) read.fail('nats.servers', raw, 'one or more server URLs such as nats://127.0.0.1:4222');
  const wantsTls = options?.tls ?? env.HOSTMESH_NATS_TLS === '1';
  if (wantsTls && !tls) read.fail('nats.tls', true, 'the tls files (tls.ca, tls.cert, tls.key; env HOSTMESH_TLS_*) to present to the NATS server');
  const insecure = options?.insecure ?? env.HOSTMESH_NATS_INSECURE === '1';
  if (!wantsTls && !insecure) {
    // Not even `tls://`: the NATS client takes TLS from the server's INFO, not from the scheme.
    const open = servers.find((server) => !isLoopbackUrl(server, read));
    if (open)
      read.fail(
        'nats.servers',
        open,
        'a loopback server, or TLS to it: nats.tls (HOSTMESH_NATS_TLS=1) with the tls files; nats.insecure (HOSTMESH_NATS_INSECURE=1) allows plaintext',
      );
  }
  const token = options?.token ?? (env.HOSTMESH_NATS_TOKEN || undefined);
  const user = options?.user ?? (env.HOSTMESH_NATS_USER || undefined);
  const pass = options?.pass ?? (env.HOSTMESH_NATS_PASS || undefined);
  if ((user === undefined) !== (pass === undefined))
    read.fail(user === undefined ? 'nats.user' : 'nats.pass', null, 'nats.user and nats.pass together (HOSTMESH_NATS_USER, HOSTMESH_NATS_PASS)');
  return {
    servers,
    heartbeatMs: read.positive('nats.heartbeatMs', options?.heartbeatMs ?? 500, 60_000),
    announceMs: read.positive('nats.announceMs', options?.announceMs ?? read.numberEnv('HOSTMESH_NATS_ANNOUNCE_MS') ?? 2000, 600_000),
    ...(wantsTls ? { tls } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(user !== undefined ? { user, pass } : {}),
    ...(insecure ? { insecure } : {}),
  };
}

function isLoopbackUrl(server: string, read: OptionReader): boolean {
  let host: string;
  try {
    host = new URL(server.includes('://') ? server : `nats://${server}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    read.fail('nats.servers', server, 'a server URL such as nats://127.0.0.1:4222');
  }
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
