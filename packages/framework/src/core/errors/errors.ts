import { HostmeshError, type HostmeshErrorOptions } from './hostmesh-error';

/** A frame that cannot be parsed: bad magic, unknown version or kind, bad length, undecodable body. */
export class FrameError extends HostmeshError {
  static override readonly code = 'FRAME_INVALID';
}

/** The service has no endpoint (or event handler) for the route that was called. */
export class RouteNotFoundError extends HostmeshError {
  static override readonly code = 'ROUTE_NOT_FOUND';
}

/** A request, response or event is larger than the configured maximum; nothing was sent. */
export class PayloadTooLargeError extends HostmeshError {
  static override readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(size: number, limit: number, what = 'payload', options: HostmeshErrorOptions = {}) {
    super(`${what} of ${size} bytes exceeds the limit of ${limit} bytes (raise maxPayloadBytes on both ends, or send less)`, {
      ...options,
      data: { size, limit, ...options.data },
    });
  }
}

/** No live instance of the service could be reached within the call's timeout. */
export class ServiceUnavailableError extends HostmeshError {
  static override readonly code = 'SERVICE_UNAVAILABLE';
  static override readonly retryable = true;
}

/** The call was sent but no reply came within its timeout. The handler may still have run. */
export class CallTimeoutError extends HostmeshError {
  static override readonly code = 'CALL_TIMEOUT';
  static override readonly retryable = true;
}

/** The caller aborted the call through its AbortSignal. */
export class CallAbortedError extends HostmeshError {
  static override readonly code = 'CALL_ABORTED';
}

/** The connection broke while the call was in flight; the handler may or may not have run. */
export class ConnectionLostError extends HostmeshError {
  static override readonly code = 'CONNECTION_LOST';
  static override readonly retryable = true;
}

/** The service is draining for shutdown and accepts no new calls; another instance may. */
export class ServiceStoppingError extends HostmeshError {
  static override readonly code = 'SERVICE_STOPPING';
  static override readonly retryable = true;
}

/** Too many calls are in flight or queued; try again later or raise the limit. */
export class QueueFullError extends HostmeshError {
  static override readonly code = 'QUEUE_FULL';
  static override readonly retryable = true;
}

/** The service already serves `maxConnections` connections; the new one was closed. */
export class TooManyConnectionsError extends HostmeshError {
  static override readonly code = 'TOO_MANY_CONNECTIONS';
  static override readonly retryable = true;
}

/** A SharedLock was not acquired within its timeout; the message names the holder. */
export class LockTimeoutError extends HostmeshError {
  static override readonly code = 'LOCK_TIMEOUT';
  static override readonly retryable = true;
}

/** Decorators or options were used in a way that cannot work; raised at bootstrap. */
export class BootstrapError extends HostmeshError {
  static override readonly code = 'BOOTSTRAP_INVALID';
}

/** A transport was asked for by a name, class or option that no registered transport matches. */
export class InvalidTransportError extends HostmeshError {
  static override readonly code = 'TRANSPORT_UNKNOWN';
}

/** The per-user runtime directory is missing, foreign-owned or too permissive. */
export class RuntimeDirError extends HostmeshError {
  static override readonly code = 'RUNTIME_DIR_UNSAFE';
}

/** Another live process already serves this service instance in this namespace. */
export class ServiceAlreadyRunningError extends HostmeshError {
  static override readonly code = 'SERVICE_ALREADY_RUNNING';
}

/**
 * The service refused the connection: the peer's kernel-reported credentials (SO_PEERCRED)
 * are not on its allow-list, or its `peers.authorize` hook said no. Not retryable.
 * `data` holds the peer's `pid`, `uid`, `gid` and the service's `reason`.
 */
export class PeerRefusedError extends HostmeshError {
  static override readonly code: string = 'PEER_REFUSED';
}

/**
 * An error thrown by a remote handler whose type is not registered locally.
 * `name`, `message`, `code` and `retryable` are those of the original error.
 */
export class RemoteError extends HostmeshError {
  static override readonly code = 'REMOTE_ERROR';
  constructor(name: string, message: string, code: string, retryable: boolean, data?: Record<string, unknown>) {
    super(message, { retryable, data });
    this.name = name;
    (this as { code: string }).code = code;
  }
}

// --- TCP across hosts: TLS (see docs/multi-host.md) ---

/**
 * A TCP connection was refused for TLS reasons: the handshake failed (unknown CA, missing or
 * rejected client certificate, a server certificate not valid for the address), the peer
 * requires TLS this process is not configured for, or plaintext to a non-loopback address
 * was refused (no `tcp.insecure`). Not retryable: a PeerRefusedError, so pending calls fail
 * at once instead of waiting out their timeout. `data.address` names the peer.
 */
export class TlsError extends PeerRefusedError {
  static override readonly code = 'TLS_FAILED';
}

// --- The call pipeline: validation, guards, unexpected handler errors ---

/** One reason a value failed its schema: where in the arguments (or result), and why. */
export interface ValidationIssue {
  /** Property keys and indexes from the argument (or result) down to the bad value; empty for the value itself. */
  path: Array<string | number>;
  /** Which argument, counting from 0; absent for a result. */
  argument?: number;
  message: string;
}

/**
 * Arguments (or a result) that do not satisfy the contract's schemas; the handler did not run
 * (or its result was withheld). `data.issues` lists each issue with its path. Not retryable.
 */
export class ValidationError extends HostmeshError {
  static override readonly code = 'VALIDATION_FAILED';
  declare readonly data: { route: string; issues: ValidationIssue[] };
}

/** A guard refused the call (`data.guard` names it); the handler did not run. Not retryable. */
export class ForbiddenError extends HostmeshError {
  static override readonly code = 'FORBIDDEN';
}

/**
 * A handler failed with an error that was not meant for its caller (a TypeError, a failed
 * assertion): the caller learns which call failed and where to look, not the internals.
 * The service's log has the error and its stack, under `data.callId`.
 */
export class InternalError extends HostmeshError {
  static override readonly code = 'INTERNAL';
}
