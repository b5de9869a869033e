import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { mkfifo } from '@hostmesh/native';
import { CallContext, deadlineFrom } from '../contracts/call-context';
import { FrameError, ServiceStoppingError } from '../core/errors/errors';
import { toWireError } from '../core/errors/wire';
import type { Logger } from '../core/logger';
import { isPromiseLike, type EndpointRoute } from '../rpc/routes';
import { isAsyncIterable } from '../rpc/streams/is-stream';
import type { RpcServer } from '../rpc/rpc-server';

/** Longest request line; a longer one is answered with an error and skipped. */
const MAX_LINE = 1 << 20;
/** How long a reply waits for its FIFO's reader to show up (kept, then logged as lost). */
const REPLY_WAIT_MS = 10_000;
/** How long a reply that started may stall on a full pipe whose reader stopped reading. */
const WRITE_STALL_MS = 1000;
/**
 * How long a stream's line may wait for .out to take it. The service holds .out open itself,
 * so no reader leaving is ever reported: one that takes nothing for this long is presumed gone.
 */
const OUT_STREAM_STALL_MS = 10_000;
/** Replies to .out waiting behind one that is still being written; more are dropped. */
const MAX_QUEUED_REPLIES = 1024;
/** Writes to a pipe up to this size are atomic (POSIX PIPE_BUF on Linux); longer lines of two writers can interleave. */
const PIPE_BUF = 4096;

/** A request as read from a line: the argument list, and where and how to answer. */
export interface Envelope {
  args: unknown[];
  id?: unknown;
  replyTo?: string;
}

/**
 * One endpoint exposed on a named pipe, for shells and tools that know nothing of hostmesh:
 *
 *   <dir>/<endpoint>.in    write one JSON request per line
 *   <dir>/<endpoint>.out   replies of requests that name no reply FIFO, one JSON line each
 *
 * A line is either the endpoint's single argument (`{"symbol":"ACME"}`) or an envelope
 * `{"args": [...], "id": 7, "replyTo": "/path/to/my.fifo"}`. Replies are
 * `{"id": 7, "result": …}` or `{"id": 7, "error": {name, message, code, retryable}}`.
 * A reply FIFO must be a FIFO of this user; anything else is refused, so a request can
 * never make the service write a file. Bad lines get an error reply; the pipe lives on.
 */
export class FifoEndpoint {
  /** The line parser on its own, reachable through the package's public API (tools/fuzz). */
  static readonly parseRequestLine = parseRequestLine;

  readonly input: string;
  readonly output: string;
  private readonly reader: Socket;
  private readonly outputFd: number;
  private pending = '';
  private discarding = false;
  private readonly outQueue: Array<{ line: Buffer; stream: boolean; written?: (ok: boolean) => void }> = [];
  /** Stops each result stream still running (close()). */
  private readonly streams = new Set<() => void>();
  /** Replies to each caller FIFO go one after another: two writers racing for one reader lose one. */
  private readonly replyChains = new Map<string, { tail: Promise<void>; queued: number }>();
  private closed = false;
  private lineNumber = 0;

  constructor(
    dir: string,
    private readonly route: EndpointRoute,
    endpoint: string,
    private readonly server: RpcServer,
    private readonly logger: Logger,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.input = join(dir, `${endpoint}.in`);
    this.output = join(dir, `${endpoint}.out`);
    for (const path of [this.input, this.output]) {
      replaceStaleFifo(path);
      mkfifo(path, 0o600);
    }
    // Read-write and non-blocking: opening never waits for a writer and the reader never
    // sees end-of-file when one goes away, so one pipe serves writer after writer.
    const inputFd = openSync(this.input, constants.O_RDWR | constants.O_NONBLOCK);
    this.outputFd = openSync(this.output, constants.O_RDWR | constants.O_NONBLOCK);
    this.reader = new Socket({ fd: inputFd, readable: true, writable: false });
    this.reader.setEncoding('utf8');
    this.reader.on('data', (text: string) => this.onText(text));
    this.reader.on('error', (error) => this.logger.warn(`${this.input}: ${error.message}`));
  }

  /** Stops reading and removes both FIFOs. */
  close(): void {
    this.closed = true;
    for (const stop of [...this.streams]) stop();
    this.reader.destroy();
    closeSync(this.outputFd);
    for (const path of [this.input, this.output]) {
      try {
        unlinkSync(path);
      } catch {
        // gone already
      }
    }
  }

  private onText(text: string): void {
    this.pending += text;
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (this.discarding) this.discarding = false;
      // A long line whose end came in the same chunk never reached the check below.
      else if (isTooLong(line)) this.skipLongLine();
      else this.onLine(line);
      newline = this.pending.indexOf('\n');
    }
    if (isTooLong(this.pending)) {
      this.pending = '';
      this.discarding = true;
      this.skipLongLine();
    }
  }

  private skipLongLine(): void {
    this.lineNumber++;
    this.reply(undefined, undefined, new FrameError(`request line longer than ${MAX_LINE} bytes: skipped`));
  }

  private onLine(line: string): void {
    this.lineNumber++;
    let envelope: Envelope | undefined;
    try {
      envelope = parseRequestLine(line);
    } catch (error) {
      // Answered where the line asked, when that can be told: from the envelope, or read from
      // the text of a short line that is not JSON (a script waiting on its FIFO must not hang).
      const to = ((error as FrameError).data as { id?: unknown; replyTo?: string } | undefined) ?? salvageReplyTo(line);
      this.reply(to?.id, to?.replyTo, new FrameError(`line ${this.lineNumber} of ${this.input}: ${(error as Error).message}`));
      return;
    }
    if (envelope === undefined) return;
    if (this.server.draining) {
      this.reply(envelope.id, envelope.replyTo, new FrameError('the service is stopping'));
      return;
    }
    this.server.callStarted();
    // A shell is a caller too: its handler gets a context (the pipe as its peer), its guards run.
    const call = this.lineNumber;
    const context = this.route.needsContext
      ? new CallContext(this.route.name, call, { kind: 'fifo', address: this.input }, undefined, undefined, deadlineFrom(undefined, this.route.timeoutMs))
      : null;
    let result: unknown;
    try {
      result = this.route.invoke(envelope.args, context);
    } catch (error) {
      this.settled(envelope, call, context, undefined, error);
      return;
    }
    if (isPromiseLike(result))
      result.then(
        (value) => this.settled(envelope, call, context, value),
        (error) => this.settled(envelope, call, context, undefined, error),
      );
    else this.settled(envelope, call, context, result);
  }

  private settled(envelope: Envelope, call: number, context: CallContext | null, value: unknown, error?: unknown): void {
    if (error === undefined && isAsyncIterable(value) && !this.closed) {
      void this.stream(envelope, call, context, value);
      return;
    }
    context?.end();
    this.finish(envelope, call, value, error);
  }

  /**
   * A handler's async iterable: one reply line per item, as it is produced, on the caller's
   * FIFO (closed at the end: its reader sees end-of-file) or on .out. The next item is pulled
   * only once the pipe took the line before it. A reader that goes away (EPIPE), close() and
   * the service's drain stop the iterator: its return() runs and the call's signal aborts.
   */
  private async stream(envelope: Envelope, call: number, context: CallContext | null, source: AsyncIterable<unknown>): Promise<void> {
    // It lasts as long as its reader reads: neither the endpoint's timeout nor the drain waits for it.
    context?.unbound();
    this.server.callEnded();
    const iterator = source[Symbol.asyncIterator]();
    let stopped = false;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = true;
      context?.cancel(why);
      // An async generator busy in its body returns once it yields (or its signal made it throw).
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    };
    const onClose = () => stop('the service closed the pipe');
    this.streams.add(onClose);
    const { id, replyTo } = envelope;
    const lines = replyTo === undefined ? this.outLines() : await this.fifoLines(replyTo);
    try {
      if (lines === undefined) return stop(`nobody reads ${replyTo}`);
      for (;;) {
        if (this.server.draining && !stopped) {
          stop('the service is stopping');
          await lines.write(this.replyLine(id, new ServiceStoppingError('the service is stopping: the stream ended early')));
          return;
        }
        let next: IteratorResult<unknown>;
        try {
          next = await iterator.next();
        } catch (error) {
          if (!stopped) await lines.write(this.replyLine(id, this.server.forCaller(this.route, call, this.input, error)));
          return;
        }
        if (next.done || stopped) return;
        if (!(await lines.write(this.replyLine(id, undefined, next.value)))) return stop(`the reader of ${replyTo ?? this.output} went away`);
      }
    } finally {
      this.streams.delete(onClose);
      lines?.close();
      context?.end();
    }
  }

  /** A stream's lines to .out, among the other replies there, each waiting for the one before. */
  private outLines(): StreamLines {
    return {
      write: (line) =>
        new Promise((written) => {
          this.outQueue.push({ line, stream: true, written });
          if (this.outQueue.length === 1) void this.flushOut();
        }),
      close: () => undefined,
    };
  }

  /** A stream's lines to the caller's FIFO, held open for the whole stream, after the replies queued to it before. */
  private async fifoLines(path: string): Promise<StreamLines | undefined> {
    const refusal = checkReplyFifo(path);
    if (refusal) {
      this.logger.warn(`not replying to ${path}: ${refusal}`);
      return undefined;
    }
    const chain = this.replyChains.get(path) ?? { tail: Promise.resolve(), queued: 0 };
    chain.queued++;
    this.replyChains.set(path, chain);
    let release!: () => void;
    const previous = chain.tail;
    chain.tail = new Promise<void>((resolve) => (release = resolve)).finally(() => {
      if (--chain.queued === 0) this.replyChains.delete(path);
    });
    await previous;
    const fd = await this.openReplyFifo(path);
    if (fd === undefined) {
      release();
      return undefined;
    }
    return {
      write: (line) => this.write(fd, line, path, Infinity, true),
      close: () => {
        closeSync(fd);
        release();
      },
    };
  }

  /** `call` is the request's line number: the call id an unexpected error is logged under. */
  private finish(envelope: Envelope, call: number, value: unknown, error?: unknown): void {
    this.server.callEnded();
    this.reply(envelope.id, envelope.replyTo, error === undefined ? undefined : this.server.forCaller(this.route, call, this.input, error), value);
  }

  private replyLine(id: unknown, error: unknown, value?: unknown): Buffer {
    const body: Record<string, unknown> = id === undefined ? {} : { id };
    if (error === undefined) body.result = value ?? null;
    else body.error = toWireError(error);
    return Buffer.from(encodeReply(body) + '\n');
  }

  private reply(id: unknown, replyTo: string | undefined, error: unknown, value?: unknown): void {
    const line = this.replyLine(id, error, value);
    if (replyTo === undefined) {
      if (this.outQueue.length >= MAX_QUEUED_REPLIES) {
        this.logger.warn(`reply to ${this.output} lost: ${MAX_QUEUED_REPLIES} replies already wait for a reader`);
        return;
      }
      this.outQueue.push({ line, stream: false });
      if (this.outQueue.length === 1) void this.flushOut();
      return;
    }
    const chain = this.replyChains.get(replyTo) ?? { tail: Promise.resolve(), queued: 0 };
    if (chain.queued >= MAX_QUEUED_REPLIES) {
      this.logger.warn(`reply to ${replyTo} lost: ${MAX_QUEUED_REPLIES} replies already wait for its reader`);
      return;
    }
    chain.queued++;
    chain.tail = chain.tail
      .then(() => this.replyTo(replyTo, line))
      .catch((failure: unknown) => this.logger.warn(`could not reply to ${JSON.stringify(replyTo)}: ${(failure as Error).message}`))
      .finally(() => {
        if (--chain.queued === 0) this.replyChains.delete(replyTo);
      });
    this.replyChains.set(replyTo, chain);
  }

  /** Replies to .out one after another: a line still being written must not be cut into. */
  private async flushOut(): Promise<void> {
    while (this.outQueue.length > 0) {
      const { line, stream, written } = this.outQueue[0]!;
      const ok = stream ? await this.write(this.outputFd, line, this.output, OUT_STREAM_STALL_MS, true) : await this.write(this.outputFd, line, this.output);
      this.outQueue.shift();
      written?.(ok);
    }
  }

  private async replyTo(path: string, line: Buffer): Promise<void> {
    const refusal = checkReplyFifo(path);
    if (refusal) {
      this.logger.warn(`not replying to ${path}: ${refusal}`);
      return;
    }
    const fd = await this.openReplyFifo(path);
    if (fd === undefined) return;
    try {
      await this.write(fd, line, path);
    } finally {
      closeSync(fd);
    }
  }

  /** Opens a caller's FIFO for writing, waiting up to REPLY_WAIT_MS for its reader; undefined (logged) when that fails. */
  private async openReplyFifo(path: string): Promise<number | undefined> {
    const deadline = Date.now() + REPLY_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
        if (fstatSync(fd).isFIFO()) return fd;
        closeSync(fd);
        throw new Error('not a FIFO');
      } catch (error) {
        // ENXIO: nobody reads the FIFO yet; give its reader a moment to open it.
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > deadline) {
          this.logger.warn(`could not reply to ${path}: ${(error as Error).message}`);
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /**
   * A non-blocking pipe takes what fits (64 KiB at most) and a single writeSync dropped the
   * rest: a large reply was cut and glued to the next one. A line that started goes out
   * whole while its reader keeps reading; one that finds the pipe full is dropped as before,
   * unless it is a stream's (`patient`): that one waits for the pipe, as backpressure.
   * Resolves whether the line went out; a stream's reader leaving (EPIPE) is not logged.
   */
  private async write(fd: number, line: Buffer, path: string, stallMs = WRITE_STALL_MS, patient = false): Promise<boolean> {
    let written = 0;
    let deadline = Date.now() + stallMs;
    let pause = 5;
    while (written < line.length) {
      // Once closed, the number may already name another file.
      if ((fd === this.outputFd || patient) && this.closed) return false;
      try {
        written += writeSync(fd, line, written);
        deadline = Date.now() + stallMs;
        pause = 5;
        continue;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (patient && code === 'EPIPE') return false;
        if (code !== 'EAGAIN' || (written === 0 && !patient) || Date.now() > deadline) {
          this.logger.warn(`reply to ${path} lost after ${written} of ${line.length} bytes: ${(error as Error).message} (is anybody reading it?)`);
          return false;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      // A reader that stopped for long is polled less often.
      pause = Math.min(pause * 2, 100);
    }
    return true;
  }
}

/** Where a result stream's lines go: `write` resolves false once they can no longer. */
interface StreamLines {
  write(line: Buffer): Promise<boolean>;
  close(): void;
}

/**
 * One request line as the endpoint reads it: undefined for a blank line, else the call.
 * Whatever the text, the only exception is a FrameError (tools/fuzz holds it to that).
 */
export function parseRequestLine(line: string): Envelope | undefined {
  if (isTooLong(line)) throw new FrameError(`request line longer than ${MAX_LINE} bytes`);
  if (line.trim() === '') return undefined;
  // A longer write to a pipe may be split and interleaved with another writer's, and two
  // halves can even make valid JSON: such a line is never run, whoever wrote it.
  if (line.length >= PIPE_BUF / 3 && Buffer.byteLength(line) >= PIPE_BUF) {
    throw new FrameError(
      `request line of ${Buffer.byteLength(line)} bytes and its newline is longer than PIPE_BUF (${PIPE_BUF}): the kernel keeps only writes up to PIPE_BUF whole, ` +
        `so a longer line can be interleaved with another writer's; pass large payloads by file path, or call over a socket (hostmesh call)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new FrameError(`not a JSON request: ${(error as Error).message}`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'args' in value) {
    const envelope = value as Envelope;
    if (envelope.replyTo !== undefined && typeof envelope.replyTo !== 'string') throw new FrameError('replyTo must be a path');
    if (!Array.isArray(envelope.args)) {
      // Answered where the envelope asked, like any other reply to it.
      throw new FrameError(`an envelope's args must be a list, got ${JSON.stringify(envelope.args) ?? 'undefined'}`, {
        data: { id: envelope.id, replyTo: envelope.replyTo },
      });
    }
    return { args: envelope.args, id: envelope.id, replyTo: envelope.replyTo };
  }
  return { args: [value] };
}

// eslint-disable-next-line no-control-regex -- a reply path may not contain NUL
const REPLY_TO_TEXT = /"replyTo"\s*:\s*"([^"\\\u0000]*)"/;

/**
 * The reply FIFO a line that is not JSON names, if it is short enough to be one writer's
 * (PIPE_BUF) and the path is a FIFO of this user; otherwise nothing, and the error goes to .out.
 */
function salvageReplyTo(line: string): { id?: unknown; replyTo?: string } | undefined {
  if (line.length >= PIPE_BUF / 3 && Buffer.byteLength(line) >= PIPE_BUF) return undefined;
  const path = REPLY_TO_TEXT.exec(line)?.[1];
  return path !== undefined && checkReplyFifo(path) === undefined ? { replyTo: path } : undefined;
}

function isTooLong(text: string): boolean {
  // Counting bytes only when the characters alone cannot settle it keeps short lines cheap.
  return text.length > MAX_LINE || (text.length * 3 > MAX_LINE && Buffer.byteLength(text) > MAX_LINE);
}

/**
 * JSON.stringify recurses: a result nested deeper than the stack (a request can be 500 000
 * `[` deep) threw RangeError out of the 'data' handler and killed the service.
 */
function encodeReply(body: Record<string, unknown>): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    const id = typeof body.id === 'number' || typeof body.id === 'string' ? body.id : undefined;
    return JSON.stringify({ id, error: toWireError(new FrameError(`reply cannot be encoded as JSON: ${(error as Error).message}`)) });
  }
}

/** Why `path` may not receive a reply, or undefined: it must be an existing FIFO of this user. */
function checkReplyFifo(path: string): string | undefined {
  if (!path.startsWith('/')) return 'replyTo must be an absolute path';
  // lstat throws, not returns, on these: inside the async reply that was an unhandled rejection.
  if (path.includes('\0')) return 'replyTo contains a NUL byte';
  let stat;
  try {
    stat = lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    return `it cannot be examined (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (!stat) return 'it does not exist';
  if (!stat.isFIFO()) return 'it is not a FIFO';
  if (stat.uid !== (process.getuid?.() ?? 0)) return `it belongs to uid ${stat.uid}`;
  return undefined;
}

function replaceStaleFifo(path: string): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (!stat.isFIFO()) throw new FrameError(`${path} exists and is not a FIFO: remove it by hand`);
  unlinkSync(path);
}
