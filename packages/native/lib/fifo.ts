import { native } from './native';
import { requireInteger } from './validate';

/** Creates a named pipe at `path` with exactly `mode` (default 0600), whatever the umask. */
export function mkfifo(path: string, mode = 0o600): void {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError(`path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  native.mkfifo(path, requireInteger(mode, 'mode', 0, 0o7777));
}
