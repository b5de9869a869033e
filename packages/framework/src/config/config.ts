import { MessageQueue, type SpinOptions } from '@hostmesh/native';
import type { ContainerModule } from 'inversify';
import { BootstrapError } from '../errors/errors';
import { BINDING_REQUESTS, type BindingRequest } from '../metadata/types';
import type { ServerLimits } from '../rpc/rpc-server';
import { LOG_LEVELS, type Logger, type LogLevel } from './logger';

export interface MeshOptions {
  /** Separates deployments of one user; kernel objects and the registry live under it. Env: HOSTMESH_NAMESPACE. */
  namespace?: string;
  /** Base of the per-user runtime directory. Env: HOSTMESH_RUNTIME_DIR; default $XDG_RUNTIME_DIR/hostmesh or /tmp/hostmesh-<uid>. */
  runtimeDir?: string;
  /** Distinguishes replicas of one service. Env: HOSTMESH_INSTANCE; default '0'. */
  instance?: string;
  /** Timeout of calls whose endpoint sets none, in ms (default 5000). */
  defaultTimeoutMs?: number;
  /** Largest request, response or event body, in bytes (default 64 MiB). */
  maxPayloadBytes?: number;
  /** Calls a client may have in flight or waiting per service before QueueFullError (default 65536). */
  maxPendingCalls?: number;
  /** Connections a service serves at once, over all its listeners; more get TooManyConnectionsError (default 1024). Env: HOSTMESH_MAX_CONNECTIONS. */
  maxConnections?: number;
  /** Calls of one connection a service runs at once; more are answered with QueueFullError (default 8192). Env: HOSTMESH_MAX_IN_FLIGHT. */
  maxInFlightPerConnection?: number;
  /** Bytes of frames in progress a service holds at once over all its connections; a frame beyond it drops its connection (default 4 × maxPayloadBytes). Env: HOSTMESH_MAX_BUFFERED_BYTES. */
  maxBufferedBytes?: number;
  /** Clients speak plain msgpack (header flag 0x10) as other languages do; for testing that path. Env: HOSTMESH_PLAIN_MSGPACK=1. */
  plainMsgpack?: boolean;
  /** A connection to a service that sends no whole frame this long after opening is closed (default 30 000). Env: HOSTMESH_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** After 10 s, a frame in progress must have arrived at least this fast on average, or its connection is dropped (default 65 536 B/s). Env: HOSTMESH_MIN_FRAME_RATE. */
  minFrameBytesPerSecond?: number;
  /** How long a graceful stop waits for in-flight calls and @OnStop hooks, in ms (default 10000). */
  gracePeriodMs?: number;
  /**
   * Binding overrides, which win over decorators: keys are `endpoint`, `service.endpoint`,
   * `service.*`, an event name, or `*`. Env: HOSTMESH_BINDINGS (JSON).
   */
  bindings?: Record<string, BindingRequest>;
  /** Endpoints to expose to shells as JSON-lines FIFOs, besides those with `@Endpoint({ shell: true })`. Env: HOSTMESH_SHELL (comma-separated). */
  shell?: string[];
  /**
   * The TCP listener: loopback unless a host is configured; port 0 picks a free one.
   * Env: HOSTMESH_TCP_ENABLED=1, HOSTMESH_TCP_HOST, HOSTMESH_TCP_PORT (what `hostmesh up` sets for services placed on hosts).
   */
  tcp?: { host?: string; port?: number; enabled?: boolean; /** Allow plaintext TCP off loopback (see `tls`). Env: HOSTMESH_TCP_INSECURE=1. */ insecure?: boolean };
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Event queues of subscribing services: depth (messages) and message size (bytes).
   * Defaults: what the kernel allows (fs.mqueue.msg_max, capped at 256; msgsize_max, capped at 64 KiB).
   * Env: HOSTMESH_MQUEUE_DEPTH, HOSTMESH_MQUEUE_MESSAGE_SIZE. Every queue counts depth × size
   * against the user's RLIMIT_MSGQUEUE (819200 bytes by default: ten 8 KiB × 10 queues).
   */
  mqueue?: {
    depth?: number;
    messageSize?: number;
    /**
     * Queue messages a subscriber handles at once (default 64; env HOSTMESH_MQUEUE_IN_FLIGHT):
     * each stays in its in-flight journal until its handlers finish, and when all are busy
     * the rest wait in the kernel queue.
     */
    inFlight?: number;
  };
  /** Shared-memory rings: bytes per direction per connection (a power of two; default 1 MiB), spin policy. */
  shm?: { ringBytes?: number; spin?: SpinOptions };
  /**
   * NATS servers for the `nats` transport (see docs/nats.md); without them the transport is not
   * registered and nothing connects to NATS. Env: HOSTMESH_NATS_SERVERS (comma-separated).
   * `heartbeatMs`: how often each connection proves its peer alive (default 500); `announceMs`: how often a service re-announces itself to the other hosts (default 2000; forgotten after 3×).
   */
  nats?: NatsOptions;
  logger?: Logger;
  /** Env: HOSTMESH_LOG_LEVEL. */
  logLevel?: LogLevel;
  /** Extra container modules: more transports, user services. */
  modules?: ContainerModule[];
  // --- peer authorization (see docs/security.md) ---
  /**
   * Who may connect to this service's Unix sockets, judged by the kernel's SO_PEERCRED.
   * Default: only processes of the service's own uid (root is not implicitly allowed).
   * Env: HOSTMESH_PEER_UIDS, HOSTMESH_PEER_GIDS (comma-separated).
   */
  peers?: PeerOptions;
  // --- TCP across hosts: TLS (see docs/multi-host.md) ---
  /**
   * Mutual TLS on the TCP transport: PEM files of the CA that signs every host's certificate,
   * and this process's certificate and key. Env: HOSTMESH_TLS_CA, HOSTMESH_TLS_CERT, HOSTMESH_TLS_KEY.
   */
  tls?: TlsFileOptions;
}

export interface MeshConfig {
  namespace: string;
  runtimeDir: string | undefined;
  instance: string;
  defaultTimeoutMs: number;
  maxPayloadBytes: number;
  maxPendingCalls: number;
  maxConnections: number;
  maxInFlightPerConnection: number;
  maxBufferedBytes: number;
  plainMsgpack: boolean;
  idleTimeoutMs: number;
  minFrameBytesPerSecond: number;
  gracePeriodMs: number;
  bindings: Record<string, BindingRequest>;
  shell: string[];
  tcp: { host: string; port: number; enabled: boolean; insecure?: boolean };
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  shm: { ringBytes: number; spin: SpinOptions };
  mqueue: { depth: number; messageSize: number; inFlight: number };
  /** Set only when NATS servers are configured. */
  nats?: NatsConfig;
  logLevel: LogLevel;
  // --- peer authorization ---
  peers: PeerPolicyConfig;
  // --- TCP across hosts: TLS ---
  tls?: TlsFileOptions;
}

export const MESH_CONFIG = Symbol.for('hostmesh:config');

/** What a service's RpcServer enforces. */
export function serverLimits(config: MeshConfig): ServerLimits {
  return { maxPayloadBytes: config.maxPayloadBytes, maxConnections: config.maxConnections, maxInFlightPerConnection: config.maxInFlightPerConnection };
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Applies defaults and the HOSTMESH_* environment; every bad value names the option and why. */
export function resolveConfig(options: MeshOptions = {}, env: NodeJS.ProcessEnv = process.env): MeshConfig {
  const namespace = options.namespace ?? env.HOSTMESH_NAMESPACE ?? 'default';
  if (!NAME.test(namespace)) fail('namespace', namespace, "1-64 letters, digits, '_' or '-'");
  const instance = options.instance ?? env.HOSTMESH_INSTANCE ?? '0';
  if (!NAME.test(instance)) fail('instance', instance, "1-64 letters, digits, '_' or '-'");
  const logLevel = options.logLevel ?? (env.HOSTMESH_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) fail('logLevel', logLevel, `one of ${LOG_LEVELS.join(', ')}`);
  const bindings = { ...parseBindingsEnv(env.HOSTMESH_BINDINGS), ...options.bindings };
  for (const [key, value] of Object.entries(bindings)) {
    if (!BINDING_REQUESTS.includes(value)) fail(`bindings.${key}`, value, `one of ${BINDING_REQUESTS.join(', ')}`);
  }
  const tcpHost = options.tcp?.host ?? (env.HOSTMESH_TCP_HOST || undefined) ?? '127.0.0.1';
  const tls = resolveTls(options.tls, env);
  const maxPayloadBytes = positive('maxPayloadBytes', options.maxPayloadBytes ?? numberEnv(env, 'HOSTMESH_MAX_PAYLOAD_BYTES') ?? 64 * 1024 * 1024, 0xffff_ffff);
  return {
    namespace,
    runtimeDir: options.runtimeDir ?? env.HOSTMESH_RUNTIME_DIR,
    instance,
    defaultTimeoutMs: positive('defaultTimeoutMs', options.defaultTimeoutMs ?? 5000),
    maxPayloadBytes,
    maxPendingCalls: positive('maxPendingCalls', options.maxPendingCalls ?? 65536),
    maxConnections: positive('maxConnections', options.maxConnections ?? numberEnv(env, 'HOSTMESH_MAX_CONNECTIONS') ?? 1024, 1 << 20),
    maxInFlightPerConnection: positive('maxInFlightPerConnection', options.maxInFlightPerConnection ?? numberEnv(env, 'HOSTMESH_MAX_IN_FLIGHT') ?? 8192, 1 << 24),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? numberEnv(env, 'HOSTMESH_MAX_BUFFERED_BYTES') ?? 4 * maxPayloadBytes),
    plainMsgpack: options.plainMsgpack ?? env.HOSTMESH_PLAIN_MSGPACK === '1',
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs ?? numberEnv(env, 'HOSTMESH_IDLE_TIMEOUT_MS') ?? 30_000, 2 ** 31 - 1),
    minFrameBytesPerSecond: nonNegative('minFrameBytesPerSecond', options.minFrameBytesPerSecond ?? numberEnv(env, 'HOSTMESH_MIN_FRAME_RATE') ?? 65_536, 2 ** 40),
    gracePeriodMs: positive('gracePeriodMs', options.gracePeriodMs ?? 10_000),
    bindings,
    shell: options.shell ?? (env.HOSTMESH_SHELL ? env.HOSTMESH_SHELL.split(',').map((name) => name.trim()).filter(Boolean) : []),
    tcp: {
      host: tcpHost,
      port: nonNegative('tcp.port', options.tcp?.port ?? numberEnv(env, 'HOSTMESH_TCP_PORT') ?? 0, 65535),
      enabled: options.tcp?.enabled ?? env.HOSTMESH_TCP_ENABLED === '1',
      insecure: options.tcp?.insecure ?? env.HOSTMESH_TCP_INSECURE === '1',
    },
    reconnect: {
      initialDelayMs: positive('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 25),
      maxDelayMs: positive('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 1000),
    },
    shm: {
      ringBytes: powerOfTwo('shm.ringBytes', options.shm?.ringBytes ?? (env.HOSTMESH_SHM_RING_BYTES ? Number(env.HOSTMESH_SHM_RING_BYTES) : 1 << 20)),
      spin: options.shm?.spin ?? {},
    },
    mqueue: {
      depth: positive('mqueue.depth', options.mqueue?.depth ?? numberEnv(env, 'HOSTMESH_MQUEUE_DEPTH') ?? Math.min(MessageQueue.limits().msgMax ?? 10, 256), 65536),
      messageSize: positive(
        'mqueue.messageSize',
        options.mqueue?.messageSize ?? numberEnv(env, 'HOSTMESH_MQUEUE_MESSAGE_SIZE') ?? Math.min(MessageQueue.limits().msgsizeMax ?? 8192, 65536),
        16 << 20,
      ),
      inFlight: positiveInteger('mqueue.inFlight', options.mqueue?.inFlight ?? numberEnv(env, 'HOSTMESH_MQUEUE_IN_FLIGHT') ?? 64, 4096),
    },
    ...resolveNats(options.nats, env, tls),
    logLevel,
    peers: resolvePeers(options.peers, env),
    tls,
  };
}

// --- nats (see docs/nats.md) ---

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

function resolveNats(options: NatsOptions | undefined, env: NodeJS.ProcessEnv, tls: TlsFileOptions | undefined): Pick<MeshConfig, 'nats'> {
  const raw = options?.servers ?? env.HOSTMESH_NATS_SERVERS;
  if (raw === undefined || raw === '') return {};
  const servers = (Array.isArray(raw) ? raw : String(raw).split(',')).map((server) => String(server).trim()).filter(Boolean);
  if (servers.length === 0) fail('nats.servers', raw, 'one or more server URLs such as nats://127.0.0.1:4222');
  const wantsTls = options?.tls ?? env.HOSTMESH_NATS_TLS === '1';
  if (wantsTls && !tls) fail('nats.tls', true, 'the tls files (tls.ca, tls.cert, tls.key; env HOSTMESH_TLS_*) to present to the NATS server');
  const insecure = options?.insecure ?? env.HOSTMESH_NATS_INSECURE === '1';
  if (!wantsTls && !insecure) {
    // Not even `tls://`: the NATS client takes TLS from the server's INFO, not from the scheme.
    const open = servers.find((server) => !isLoopbackUrl(server));
    if (open) fail('nats.servers', open, 'a loopback server, or TLS to it: nats.tls (HOSTMESH_NATS_TLS=1) with the tls files; nats.insecure (HOSTMESH_NATS_INSECURE=1) allows plaintext');
  }
  const token = options?.token ?? (env.HOSTMESH_NATS_TOKEN || undefined);
  const user = options?.user ?? (env.HOSTMESH_NATS_USER || undefined);
  const pass = options?.pass ?? (env.HOSTMESH_NATS_PASS || undefined);
  if ((user === undefined) !== (pass === undefined)) fail(user === undefined ? 'nats.user' : 'nats.pass', null, 'nats.user and nats.pass together (HOSTMESH_NATS_USER, HOSTMESH_NATS_PASS)');
  return {
    nats: {
      servers,
      heartbeatMs: positive('nats.heartbeatMs', options?.heartbeatMs ?? 500, 60_000),
      announceMs: positive('nats.announceMs', options?.announceMs ?? numberEnv(env, 'HOSTMESH_NATS_ANNOUNCE_MS') ?? 2000, 600_000),
      ...(wantsTls ? { tls } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(user !== undefined ? { user, pass } : {}),
      ...(insecure ? { insecure } : {}),
    },
  };
}

function isLoopbackUrl(server: string): boolean {
  let host: string;
  try {
    host = new URL(server.includes('://') ? server : `nats://${server}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    fail('nats.servers', server, 'a server URL such as nats://127.0.0.1:4222');
  }
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// --- peer authorization (see docs/security.md) ---

/** The process on the other end of a Unix socket, as the kernel reported it (SO_PEERCRED). */
export interface PeerIdentity {
  pid: number;
  uid: number;
  gid: number;
}

/** Decides about a peer that passed the uid/gid lists: `true` admits, `false` or a reason string refuses. */
export type PeerAuthorizer = (peer: PeerIdentity, service: string) => boolean | string;

export interface PeerOptions {
  /** More uids allowed to connect, besides the service's own. */
  uids?: number[];
  /** Peers whose (primary) gid is listed are allowed too. */
  gids?: number[];
  /** Runs for every peer the lists allow, before any of its bytes is read; may only narrow them. */
  authorize?: PeerAuthorizer;
}

export interface PeerPolicyConfig {
  uids: number[];
  gids: number[];
  authorize: PeerAuthorizer | undefined;
}

function resolvePeers(options: PeerOptions | undefined, env: NodeJS.ProcessEnv): PeerPolicyConfig {
  const ids = (option: string, value: number[] | undefined, raw: string | undefined): number[] => {
    const list = value ?? (raw ? raw.split(',').map((part) => part.trim()).filter(Boolean).map(Number) : []);
    if (!Array.isArray(list)) fail(option, list, 'an array of ids');
    for (const id of list) if (!Number.isInteger(id) || id < 0 || id > 0xffff_fffe) fail(option, id, 'an integer id in 0..4294967294');
    return [...list];
  };
  const authorize = options?.authorize;
  if (authorize !== undefined && typeof authorize !== 'function') fail('peers.authorize', typeof authorize, 'a function');
  return {
    uids: ids('peers.uids', options?.uids, env.HOSTMESH_PEER_UIDS),
    gids: ids('peers.gids', options?.gids, env.HOSTMESH_PEER_GIDS),
    authorize,
  };
}

function numberEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) fail(name, raw, 'a number');
  return value;
}

function powerOfTwo(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 4096 || value > 2 ** 30 || (value & (value - 1)) !== 0) {
    fail(option, value, 'a power of two from 4096 to 2^30');
  }
  return value;
}

function parseBindingsEnv(raw: string | undefined): Record<string, BindingRequest> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, BindingRequest>;
  } catch {
    // reported below
  }
  return fail('HOSTMESH_BINDINGS', raw, 'a JSON object such as {"quote":"uds"}');
}

function positive(option: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isFinite(value) || value <= 0 || value > max) fail(option, value, `a number in 1..${max}`);
  return value;
}

function positiveInteger(option: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) fail(option, value, `an integer in 1..${max}`);
  return value;
}

function nonNegative(option: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) fail(option, value, `an integer in 0..${max}`);
  return value;
}

function fail(option: string, value: unknown, expected: string): never {
  throw new BootstrapError(`invalid option ${option}=${JSON.stringify(value)}: expected ${expected}`);
}

// --- TCP across hosts: TLS (see docs/multi-host.md) ---

/** PEM file paths for mutual TLS on the TCP transport. */
export interface TlsFileOptions {
  /** The CA certificate that signed every peer's certificate (peers are verified against it). */
  ca: string;
  /** This process's certificate (presented as server and as client). */
  cert: string;
  /** Its private key. */
  key: string;
}

function resolveTls(options: TlsFileOptions | undefined, env: NodeJS.ProcessEnv): TlsFileOptions | undefined {
  const given = options ?? (env.HOSTMESH_TLS_CA || env.HOSTMESH_TLS_CERT || env.HOSTMESH_TLS_KEY
    ? { ca: env.HOSTMESH_TLS_CA ?? '', cert: env.HOSTMESH_TLS_CERT ?? '', key: env.HOSTMESH_TLS_KEY ?? '' }
    : undefined);
  if (given === undefined) return undefined;
  for (const field of ['ca', 'cert', 'key'] as const) {
    const value = given[field];
    if (typeof value !== 'string' || value === '') {
      fail(`tls.${field}`, value ?? null, `a PEM file path (tls needs ca, cert and key; env HOSTMESH_TLS_${field.toUpperCase()})`);
    }
  }
  return { ca: given.ca, cert: given.cert, key: given.key };
}
