/** What the addon attaches to every system-call failure. */
export interface PosixErrorDetails {
  /** The errno name: `ENOENT`, `EACCES`, … */
  code: string;
  errno: number;
  syscall: string;
  /** The object the call was about: a shm or queue name, a path, `fd 12`. */
  object: string;
}

/**
 * A failed system call, raised from C++ with the errno name, the call and the object,
 * e.g. `shm_open /hm.0.default.x: No such file or directory (ENOENT)`.
 */
export class PosixError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly object: string;

  constructor(message: string, details: PosixErrorDetails) {
    super(message);
    this.name = 'PosixError';
    this.code = details.code;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.object = details.object;
  }

  static is(value: unknown, code?: string): value is PosixError {
    return value instanceof PosixError && (code === undefined || value.code === code);
  }
}
