import { readFileSync } from 'node:fs';
import { FdWatcher, READABLE, WRITABLE } from './fd-watcher';
import { native } from './native';
import { requirePosixName } from './names';
import { PosixError } from './posix-error';
import { requireBytes, requireFunction, requireInteger } from './validate';

export interface QueueAttributes {
  maxMessages: number;
  messageSize: number;
  currentMessages: number;
}

export interface CreateQueueOptions {
  /** Queue depth (mq_maxmsg); bounded by fs.mqueue.msg_max. */
  maxMessages: number;
  /** Largest message (mq_msgsize); bounded by fs.mqueue.msgsize_max. */
  messageSize: number;
  /** Fail if the queue exists (default: open it as it is). */
  exclusive?: boolean;
}

/** The kernel refused a queue because of a limit; the message says which and how to raise it. */
export class QueueLimitError extends Error {
  override readonly name = 'QueueLimitError';
  constructor(
    message: string,
    readonly sysctl: string,
    readonly needed: number,
    readonly current: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type QueueHandler = (message: Buffer, priority: number) => void;

/**
 * A POSIX message queue (0600, non-blocking). Messages carry a priority from 0 to 31 and
 * are received highest priority first; they stay in the kernel while nobody reads, which
 * is what lets a consumer restart without losing any. Receipt is an event: the queue
 * descriptor is watched by libuv, no thread per queue.
 */
export class MessageQueue {
  private watcher: FdWatcher | null = null;
  private handler: QueueHandler | null = null;
  private readonly receiveBuffer: Buffer;
  private readonly priority = new Uint32Array(1);
  private writeWaiters: Array<() => void> = [];
  private closed = false;
  private scheduled = false;

  private constructor(
    readonly name: string,
    readonly fd: number,
    readonly messageSize: number,
  ) {
    this.receiveBuffer = Buffer.allocUnsafe(messageSize);
  }

  static create(name: string, options: CreateQueueOptions): MessageQueue {
    requirePosixName(name);
    const depth = requireInteger(options.maxMessages, 'maxMessages', 1, 65536);
    const size = requireInteger(options.messageSize, 'messageSize', 1, 16 * 1024 * 1024);
    let fd: number;
    try {
      fd = native.mqOpen(name, true, options.exclusive ?? false, depth, size);
    } catch (error) {
      throw explainLimit(error, name, depth, size);
    }
    return new MessageQueue(name, fd, native.mqAttributes(fd).messageSize);
  }

  static open(name: string): MessageQueue {
    requirePosixName(name);
    const fd = native.mqOpen(name, false, false, 0, 0);
    return new MessageQueue(name, fd, native.mqAttributes(fd).messageSize);
  }

  static unlink(name: string): void {
    native.mqUnlink(requirePosixName(name));
  }

  /** The kernel's limits (/proc/sys/fs/mqueue), or undefined where they cannot be read. */
  static limits(): { msgMax?: number; msgsizeMax?: number; queuesMax?: number } {
    return { msgMax: readSysctl('msg_max'), msgsizeMax: readSysctl('msgsize_max'), queuesMax: readSysctl('queues_max') };
  }

  attributes(): QueueAttributes {
    return native.mqAttributes(this.fd);
  }

  /** Enqueues `message` with `priority` (0-31); false when the queue is full. */
  send(message: Uint8Array, priority = 0): boolean {
    this.ensureOpen();
    const bytes = requireBytes(message, 'message');
    requireInteger(priority, 'priority', 0, 31);
    if (bytes.length > this.messageSize) {
      throw new RangeError(`message of ${bytes.length} bytes exceeds the queue's message size of ${this.messageSize} bytes`);
    }
    return native.mqSend(this.fd, bytes, priority);
  }

  /** Resolves when the queue has room again (the kernel says it is writable). */
  whenWritable(): Promise<void> {
    this.ensureOpen();
    return new Promise((resolve) => {
      this.writeWaiters.push(resolve);
      this.watch();
    });
  }

  /** Takes one message now, or null when the queue is empty. */
  receive(): { message: Buffer; priority: number } | null {
    this.ensureOpen();
    const length = native.mqReceive(this.fd, this.receiveBuffer, this.priority);
    if (length < 0) return null;
    return { message: Buffer.from(this.receiveBuffer.subarray(0, length)), priority: this.priority[0]! };
  }

  /**
   * Delivers every message, highest priority first, as it arrives. The Buffer is a view
   * valid until the handler returns. Long backlogs are drained in slices of `budgetMs`
   * so the event loop keeps turning.
   */
  onMessage(handler: QueueHandler, budgetMs = 1): this {
    this.ensureOpen();
    this.handler = requireFunction<QueueHandler>(handler, 'handler');
    this.budgetMs = budgetMs;
    this.watch();
    this.drain();
    return this;
  }

  /** Stops delivering (messages stay queued in the kernel). */
  pause(): void {
    this.handler = null;
    this.watch();
  }

  /** Lets the process exit while the queue is watched. */
  unref(): this {
    this.watcher?.unref();
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    native.mqClose(this.fd);
  }

  private budgetMs = 1;

  private ensureOpen(): void {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
  }

  private watch(): void {
    const events = (this.handler ? READABLE : 0) | (this.writeWaiters.length > 0 ? WRITABLE : 0);
    if (events === 0) {
      this.watcher?.stop();
      return;
    }
    this.watcher ??= new FdWatcher(this.fd, this.onReady);
    this.watcher.start(events);
  }

  private readonly onReady = (events: number): void => {
    if (this.closed) return;
    if (events & WRITABLE && this.writeWaiters.length > 0) {
      for (const wake of this.writeWaiters.splice(0)) wake();
      this.watch();
    }
    if (events & READABLE) this.drain();
  };

  private drain(): void {
    const deadline = performance.now() + this.budgetMs;
    while (this.handler !== null && !this.closed) {
      const length = native.mqReceive(this.fd, this.receiveBuffer, this.priority);
      if (length < 0) return;
      this.handler(this.receiveBuffer.subarray(0, length), this.priority[0]!);
      if (performance.now() > deadline) {
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => {
            this.scheduled = false;
            this.drain();
          });
        }
        return;
      }
    }
  }
}

function readSysctl(name: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/fs/mqueue/${name}`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Turns the kernel's terse refusals into errors that say which limit and how to raise it. */
function explainLimit(error: unknown, name: string, depth: number, size: number): unknown {
  if (!PosixError.is(error)) return error;
  const limits = MessageQueue.limits();
  const refuse = (sysctl: string, needed: number, current: number, advice: string) =>
    new QueueLimitError(`cannot create queue ${name}: ${advice}`, sysctl, needed, current, { cause: error });
  if (error.code === 'EINVAL' && limits.msgMax !== undefined && depth > limits.msgMax) {
    return refuse(
      'fs.mqueue.msg_max',
      depth,
      limits.msgMax,
      `a depth of ${depth} messages exceeds fs.mqueue.msg_max=${limits.msgMax}; raise it (sysctl -w fs.mqueue.msg_max=${depth}) or ask for at most ${limits.msgMax}`,
    );
  }
  if (error.code === 'EINVAL' && limits.msgsizeMax !== undefined && size > limits.msgsizeMax) {
    return refuse(
      'fs.mqueue.msgsize_max',
      size,
      limits.msgsizeMax,
      `a message size of ${size} bytes exceeds fs.mqueue.msgsize_max=${limits.msgsizeMax}; raise it (sysctl -w fs.mqueue.msgsize_max=${size}) or send larger messages another way`,
    );
  }
  if (error.code === 'ENOSPC') {
    return refuse(
      'fs.mqueue.queues_max',
      (limits.queuesMax ?? 0) + 1,
      limits.queuesMax ?? 0,
      `the system already has fs.mqueue.queues_max=${limits.queuesMax} queues; raise it or remove unused queues`,
    );
  }
  if (error.code === 'EMFILE') {
    return refuse(
      'RLIMIT_MSGQUEUE',
      depth * size,
      0,
      `this user's queues would exceed RLIMIT_MSGQUEUE (ulimit -q, ${depth} × ${size} bytes asked) or the open-descriptor limit: ` +
        'remove queues left by old deployments (hostmesh doctor --clean, or list /dev/mqueue after `mount -t mqueue none /dev/mqueue`), raise the limit, or use smaller queues',
    );
  }
  return error;
}
