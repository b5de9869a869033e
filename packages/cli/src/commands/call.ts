import { once } from 'node:events';
import { CallTimeoutError, describeError } from '@hostmesh/framework';
import { callByName, parseJson, splitTarget } from './by-name';
import { meshOf, type TargetOptions } from './context';

/** The exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED = 130;
/** Its reader went away: what a process killed by SIGPIPE reports (Node ignores the signal). */
const BROKEN_PIPE = 141;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `hostmesh call <service>.<endpoint> [json]`: one call through the same typed client a
 * service would use (and over the mechanism the service announces), for manual testing.
 * The JSON is the single argument; with --args it is the argument list. A result stream is
 * printed as JSON lines, one per item as it arrives.
 */
export async function call(
  target: string,
  json: string | undefined,
  options: TargetOptions & { args?: boolean; timeoutMs?: number; json?: boolean },
): Promise<number> {
  splitTarget(target);
  let args: unknown[] = [];
  if (json !== undefined) {
    const value = parseJson(json, 'the argument');
    if (options.args && !Array.isArray(value)) throw new Error('--args expects a JSON array of arguments');
    args = options.args ? (value as unknown[]) : [value];
  }
  const mesh = meshOf(options);
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  try {
    const result = await callByName(mesh, target, args, { ...options, timeoutMs });
    if (isStream(result)) return await printStream(result, deadline, `the stream of ${target} reached its deadline (--timeout-ms ${timeoutMs})`);
    process.stdout.write(JSON.stringify(result, null, options.json ? 0 : 2) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await mesh.close(0);
  }
}

/** A call's result is a stream when the service opened one (a Buffer or an array is a value). */
function isStream(value: unknown): value is AsyncIterableIterator<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

/**
 * Prints each item as a line as soon as it arrives, and asks for the next only once stdout
 * took the line: a slow reader of our output slows the service, through the stream's credit.
 * Ctrl-C cancels the stream at the service (return()) before exiting 130; a second one exits
 * at once. A reader of our output that goes away (`| head`) cancels it too.
 *
 * The service was sent --timeout-ms as the call's deadline, and keeps it for the stream: past
 * it, its handler's signal aborts and it may stop without a word. So the stream ends here too.
 */
async function printStream(stream: AsyncIterableIterator<unknown>, deadline: number, expired: string): Promise<number> {
  let exitCode = 0;
  const stopped = new AbortController();
  const stop = (code: number) => {
    if (stopped.signal.aborted) return;
    exitCode = code;
    stopped.abort();
    void stream.return?.();
  };
  const onSigint = () => (stopped.signal.aborted ? process.exit(INTERRUPTED) : stop(INTERRUPTED));
  const onStdoutError = () => stop(BROKEN_PIPE);
  const left = Math.max(0, deadline - Date.now());
  // Beyond what a timer holds (about 24 days) a deadline is as good as none.
  const timer =
    left <= MAX_TIMER_MS
      ? setTimeout(() => {
          if (!stopped.signal.aborted) process.stderr.write(`${describeError(new CallTimeoutError(expired))}\n`);
          stop(1);
        }, left)
      : undefined;
  process.on('SIGINT', onSigint);
  // Left on after the stream: a write that fails late must not crash the command.
  process.stdout.on('error', onStdoutError);
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done || stopped.signal.aborted) break;
      if (!process.stdout.write(JSON.stringify(next.value) + '\n')) await once(process.stdout, 'drain', { signal: stopped.signal }).catch(() => undefined);
    }
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSigint);
  }
  return exitCode;
}
