import type { ContainerModule } from 'inversify';
import { checkEndpointPolicies, parseEndpointPoliciesEnv, type EndpointPolicy } from './endpoint-policies';
import { LOG_LEVELS, type Logger, type LogLevel } from '../core/logger';
import { OptionReader } from '../core/options';
import { resolvePeers, type PeerOptions, type PeerPolicyConfig } from '../core/peer-policy';
import { resolveTls, type TlsFileOptions } from '../core/tls-files';
import { BINDING_REQUESTS, type BindingRequest } from '../metadata/types';
import { TRANSPORT_PLUGINS, type TransportOptions, type TransportOptionsInput } from '../plugins/transport-plugins';
import type { ManifestLimit, TransportContext } from '../transports/contract/plugin';
import type { TransportLimitName } from '../plugins/transport-plugins';

/** The settings of the mesh itself a manifest may give each service (`limits.maxPayloadBytes`). */
export const MESH_LIMITS = {
  maxPayloadBytes: {
    env: 'HOSTMESH_MAX_PAYLOAD_BYTES',
    description: 'Largest request, response or event body it accepts, in bytes.',
    minimum: 1024,
    maximum: 0xffff_ffff,
  },
} as const satisfies Record<string, ManifestLimit>;

/** What `limits` of a manifest's service may hold. */
export type ManifestLimitName = keyof typeof MESH_LIMITS | TransportLimitName;

/**
 * Every setting a manifest may give a service under `limits`: the mesh's and each plugin's.
 * The manifest's schema and the variables the supervisor sets are derived from it.
 */
export const MANIFEST_LIMITS: Readonly<Record<ManifestLimitName, ManifestLimit>> = (() => {
  const all: Record<string, ManifestLimit> = { ...MESH_LIMITS };
  for (const plugin of TRANSPORT_PLUGINS) {
    for (const [name, limit] of Object.entries(plugin.limits ?? {})) {
      if (name in all) throw new Error(`transport plugin ${plugin.kind} declares the limit ${name}, which another already has`);
      all[name] = limit;
    }
  }
  return all as Record<ManifestLimitName, ManifestLimit>;
})();

/**
 * Everything a process of the mesh can be told. Each transport's options sit under its kind
 * (`tcp`, `shm`, `mqueue`, `nats`, …: see TransportOptionsInput and each plugin's folder).
 */
export interface MeshOptions extends TransportOptionsInput {
  /** Separates deployments of one user; kernel objects and the registry live under it. Env: HOSTMESH_NAMESPACE. */
  namespace?: string;
  /** Base of the per-user runtime directory. Env: HOSTMESH_RUNTIME_DIR; default $XDG_RUNTIME_DIR/hostmesh or /tmp/hostmesh-<uid>. */
  runtimeDir?: string;
  /** Distinguishes replicas of one service. Env: HOSTMESH_INSTANCE; default '0'. */
  instance?: string;
  /**
   * How many replicas the service runs (instances '0' to replicas - 1): events with an
   * ordering key are split among them in this many partitions. Env: HOSTMESH_REPLICAS (the
   * supervisor sets it from the manifest); default 1.
   */
  replicas?: number;
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
   * Resilience policies per endpoint name, over the decorators' (idempotent, timeouts,
   * bulkhead, balance; docs/resilience.md). Env: HOSTMESH_ENDPOINTS (JSON); the manifest's `endpoints`.
   */
  endpoints?: Record<string, EndpointPolicy>;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
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
  replicas: number;
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
  endpoints: Record<string, EndpointPolicy>;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  /** Each enabled transport's own options, by kind (nats only when servers are configured). */
  transports: TransportOptions;
  logLevel: LogLevel;
  // --- peer authorization ---
  peers: PeerPolicyConfig;
  // --- TCP across hosts: TLS ---
  tls?: TlsFileOptions;
}

export const MESH_CONFIG = Symbol.for('hostmesh:config');

/** What a service's RpcServer enforces. */
export function serverLimits(config: MeshConfig): { maxPayloadBytes: number; maxConnections: number; maxInFlightPerConnection: number } {
  return { maxPayloadBytes: config.maxPayloadBytes, maxConnections: config.maxConnections, maxInFlightPerConnection: config.maxInFlightPerConnection };
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Applies defaults and the HOSTMESH_* environment; every bad value names the option and why. */
export function resolveConfig(options: MeshOptions = {}, env: NodeJS.ProcessEnv = process.env): MeshConfig {
  const read = new OptionReader(env);
  const namespace = options.namespace ?? env.HOSTMESH_NAMESPACE ?? 'default';
  if (!NAME.test(namespace)) read.fail('namespace', namespace, "1-64 letters, digits, '_' or '-'");
  const instance = options.instance ?? env.HOSTMESH_INSTANCE ?? '0';
  if (!NAME.test(instance)) read.fail('instance', instance, "1-64 letters, digits, '_' or '-'");
  const logLevel = options.logLevel ?? (env.HOSTMESH_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) read.fail('logLevel', logLevel, `one of ${LOG_LEVELS.join(', ')}`);
  const bindings = { ...parseBindingsEnv(env.HOSTMESH_BINDINGS, read), ...options.bindings };
  for (const [key, value] of Object.entries(bindings)) {
    if (!BINDING_REQUESTS.includes(value)) read.fail(`bindings.${key}`, value, `one of ${BINDING_REQUESTS.join(', ')}`);
  }
  const tls = resolveTls(options.tls, read);
  const gracePeriodMs = read.positive('gracePeriodMs', options.gracePeriodMs ?? 10_000);
  const peers = resolvePeers(options.peers, read);
  const maxPayloadBytes = read.positive(
    'maxPayloadBytes',
    options.maxPayloadBytes ?? read.numberEnv(MESH_LIMITS.maxPayloadBytes.env) ?? 64 * 1024 * 1024,
    0xffff_ffff,
  );
  return {
    namespace,
    runtimeDir: options.runtimeDir ?? env.HOSTMESH_RUNTIME_DIR,
    instance,
    replicas: read.positiveInteger('replicas', options.replicas ?? read.numberEnv('HOSTMESH_REPLICAS') ?? 1, 256),
    defaultTimeoutMs: read.positive('defaultTimeoutMs', options.defaultTimeoutMs ?? 5000),
    maxPayloadBytes,
    maxPendingCalls: read.positive('maxPendingCalls', options.maxPendingCalls ?? 65536),
    maxConnections: read.positive('maxConnections', options.maxConnections ?? read.numberEnv('HOSTMESH_MAX_CONNECTIONS') ?? 1024, 1 << 20),
    maxInFlightPerConnection: read.positive(
      'maxInFlightPerConnection',
      options.maxInFlightPerConnection ?? read.numberEnv('HOSTMESH_MAX_IN_FLIGHT') ?? 8192,
      1 << 24,
    ),
    maxBufferedBytes: read.positive('maxBufferedBytes', options.maxBufferedBytes ?? read.numberEnv('HOSTMESH_MAX_BUFFERED_BYTES') ?? 4 * maxPayloadBytes),
    plainMsgpack: options.plainMsgpack ?? read.flagEnv('HOSTMESH_PLAIN_MSGPACK'),
    idleTimeoutMs: read.positive('idleTimeoutMs', options.idleTimeoutMs ?? read.numberEnv('HOSTMESH_IDLE_TIMEOUT_MS') ?? 30_000, 2 ** 31 - 1),
    minFrameBytesPerSecond: read.nonNegative(
      'minFrameBytesPerSecond',
      options.minFrameBytesPerSecond ?? read.numberEnv('HOSTMESH_MIN_FRAME_RATE') ?? 65_536,
      2 ** 40,
    ),
    gracePeriodMs,
    bindings,
    shell: options.shell ?? read.listEnv('HOSTMESH_SHELL') ?? [],
    endpoints: {
      ...parseEndpointPoliciesEnv(env.HOSTMESH_ENDPOINTS, read),
      ...(options.endpoints === undefined ? {} : checkEndpointPolicies(options.endpoints, read, 'endpoints')),
    },
    reconnect: {
      initialDelayMs: read.positive('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 25),
      maxDelayMs: read.positive('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 1000),
    },
    transports: resolveTransportOptions(options, read, { namespace, instance, gracePeriodMs, peers, tls }),
    logLevel,
    peers,
    tls,
  };
}

/** Each plugin resolves its own slice of the options; one that is not enabled is left out. */
function resolveTransportOptions(options: MeshOptions, read: OptionReader, context: Omit<TransportContext, 'runtimeDir' | 'logger'>): TransportOptions {
  const resolved: Record<string, unknown> = {};
  for (const plugin of TRANSPORT_PLUGINS) {
    const input = (options as Record<string, unknown>)[plugin.kind];
    const value = (plugin.resolveOptions as (input: unknown, read: OptionReader, context: Omit<TransportContext, 'runtimeDir' | 'logger'>) => unknown)(
      input,
      read,
      context,
    );
    if (value !== undefined) resolved[plugin.kind] = value;
  }
  return resolved as TransportOptions;
}

/** What every transport of a process is given besides its own options. */
export function transportContext(config: MeshConfig, runtimeDir: TransportContext['runtimeDir'], logger: Logger): TransportContext {
  return {
    runtimeDir,
    logger,
    namespace: config.namespace,
    instance: config.instance,
    gracePeriodMs: config.gracePeriodMs,
    peers: config.peers,
    tls: config.tls,
  };
}

function parseBindingsEnv(raw: string | undefined, read: OptionReader): Record<string, BindingRequest> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, BindingRequest>;
  } catch {
    // reported below
  }
  return read.fail('HOSTMESH_BINDINGS', raw, 'a JSON object such as {"quote":"uds"}');
}
