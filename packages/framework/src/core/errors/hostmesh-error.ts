export interface HostmeshErrorOptions {
  cause?: unknown;
  /** Overrides the class default: may the caller retry the same request? */
  retryable?: boolean;
  /** Structured detail that travels with the error to the caller. */
  data?: Record<string, unknown>;
}

/**
 * Base of every error the framework raises. `code` is stable and machine-readable,
 * `retryable` tells callers whether sending the same request again may succeed.
 */
export class HostmeshError extends Error {
  static readonly code: string = 'HOSTMESH_ERROR';
  static readonly retryable: boolean = false;

  readonly code: string;
  readonly retryable: boolean;
  readonly data: Record<string, unknown> | undefined;

  constructor(message: string, options: HostmeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as typeof HostmeshError;
    this.name = ctor.name;
    this.code = ctor.code;
    this.retryable = options.retryable ?? ctor.retryable;
    this.data = options.data;
  }

  static is(value: unknown): value is HostmeshError {
    return value instanceof HostmeshError;
  }
}
