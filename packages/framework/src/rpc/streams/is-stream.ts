import { isRawBytes } from '../../protocol/codec';

/**
 * Whether a handler's result (or a call's argument) is a stream: an async iterable that is
 * not bytes or a string. Plain arrays and Sets are values, not streams.
 */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  // Asked of every call's arguments and result: bytes (the common case) are ruled out before the symbol lookup walks a prototype chain.
  return (
    typeof value === 'object' &&
    value !== null &&
    !isRawBytes(value) &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** The index of the one streamed argument, -1 when there is none; throws when there are several. */
export function streamedArgument(args: readonly unknown[], route: string): number {
  let found = -1;
  for (let i = 0; i < args.length; i++) {
    if (!isAsyncIterable(args[i])) continue;
    if (found >= 0) throw new TypeError(`${route}: only one argument of a call may be a stream (arguments ${found} and ${i} are)`);
    found = i;
  }
  return found;
}
