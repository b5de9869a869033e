import type { StreamReceiver } from './stream-receiver';

/**
 * A stream handed out before the call that makes it could start (the service was still being
 * looked up): each method waits for the real one. Cancelling before then cancels it as it starts.
 */
export function lateStream(made: Promise<StreamReceiver>): AsyncIterableIterator<unknown> & { cancel(): void } {
  let inner: StreamReceiver | null = null;
  let cancelled = false;
  made.then(
    (stream) => {
      inner = stream;
      if (cancelled) stream.cancel();
    },
    () => undefined,
  );
  const stream = {
    next: () => made.then((s) => s.next()),
    return: () => {
      cancelled = true;
      return made.then((s) => s.return());
    },
    throw: (error?: unknown) => {
      cancelled = true;
      return made.then((s) => s.throw(error));
    },
    cancel: () => {
      cancelled = true;
      inner?.cancel();
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
