import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { mkfifo } from '@hostmesh/native';
import { FrameError } from '../../errors/errors';
import { toWireError } from '../../errors/wire';
import type { Logger } from '../../runtime/logger';
import { isPromiseLike, type EndpointRoute } from '../../rpc/routes';
import type { RpcServer } from '../../rpc/rpc-server';

/** Longest request line; a longer one is answered with an error and skipped. */
const MAX_LINE = 1 << 20;
/** How long to wait for the reader of a reply FIFO to show up. */
const REPLY_WAIT_MS = 1000;

interface Envelope {
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
  readonly input: string;
  readonly output: string;
  private readonly reader: Socket;
  private readonly outputFd: number;
  private pending = '';
  private discarding = false;
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
      else this.onLine(line);
      newline = this.pending.indexOf('\n');
    }
    if (this.pending.length > MAX_LINE) {
      this.pending = '';
      this.discarding = true;
      this.reply(undefined, undefined, new FrameError(`request line longer than ${MAX_LINE} bytes: skipped`));
    }
  }

  private onLine(line: string): void {
    this.lineNumber++;
    if (line.trim() === '') return;
    let envelope: Envelope;
    try {
      envelope = toEnvelope(JSON.parse(line));
    } catch (error) {
      this.reply(undefined, undefined, new FrameError(`line ${this.lineNumber} of ${this.input} is not a JSON request: ${(error as Error).message}`));
      return;
    }
    if (this.server.draining) {
      this.reply(envelope.id, envelope.replyTo, new FrameError('the service is stopping'));
      return;
    }
    this.server.callStarted();
    let result: unknown;
    try {
      result = this.route.invoke(envelope.args);
    } catch (error) {
      this.finish(envelope, undefined, error);
      return;
    }
    if (isPromiseLike(result)) result.then((value) => this.finish(envelope, value), (error) => this.finish(envelope, undefined, error));
    else this.finish(envelope, result);
  }

  private finish(envelope: Envelope, value: unknown, error?: unknown): void {
    this.server.callEnded();
    this.reply(envelope.id, envelope.replyTo, error, value);
  }

  private reply(id: unknown, replyTo: string | undefined, error: unknown, value?: unknown): void {
    const body: Record<string, unknown> = id === undefined ? {} : { id };
    if (error === undefined) body.result = value ?? null;
    else body.error = toWireError(error);
    const line = JSON.stringify(body) + '\n';
    if (replyTo === undefined) {
      this.write(this.outputFd, line, this.output);
      return;
    }
    void this.replyTo(replyTo, line);
  }

  private async replyTo(path: string, line: string): Promise<void> {
    const refusal = checkReplyFifo(path);
    if (refusal) {
      this.logger.warn(`not replying to ${path}: ${refusal}`);
      return;
    }
    const deadline = Date.now() + REPLY_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
        try {
          if (!fstatSync(fd).isFIFO()) throw new Error('not a FIFO');
          this.write(fd, line, path);
        } finally {
          closeSync(fd);
        }
        return;
      } catch (error) {
        // ENXIO: nobody reads the FIFO yet; give its reader a moment to open it.
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || Date.now() > deadline) {
          this.logger.warn(`could not reply to ${path}: ${(error as Error).message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  private write(fd: number, line: string, path: string): void {
    try {
      writeSync(fd, line);
    } catch (error) {
      this.logger.warn(`reply to ${path} lost: ${(error as Error).message} (is anybody reading it?)`);
    }
  }
}

function toEnvelope(value: unknown): Envelope {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as Envelope).args)) {
    const envelope = value as Envelope;
    if (envelope.replyTo !== undefined && typeof envelope.replyTo !== 'string') throw new Error('replyTo must be a path');
    return { args: envelope.args, id: envelope.id, replyTo: envelope.replyTo };
  }
  return { args: [value] };
}

/** Why `path` may not receive a reply, or undefined: it must be an existing FIFO of this user. */
function checkReplyFifo(path: string): string | undefined {
  if (!path.startsWith('/')) return 'replyTo must be an absolute path';
  const stat = lstatSync(path, { throwIfNoEntry: false });
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
