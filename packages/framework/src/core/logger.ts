export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
export const LOG_LEVELS = Object.keys(RANK) as LogLevel[];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
  /** Logs `message` the first time `key` is seen, so a repeated condition is reported once. */
  once(key: string, level: Exclude<LogLevel, 'silent'>, message: string): void;
  child(scope: string): Logger;
}

export const LOGGER = Symbol.for('hostmesh:logger');

export interface LogSink {
  out(line: string): void;
  err(line: string): void;
}

const processSink: LogSink = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Lines of `[scope] level: message`; warnings and errors go to stderr. */
export class ConsoleLogger implements Logger {
  private readonly seen: Set<string>;

  constructor(
    private readonly scope: string,
    private readonly level: LogLevel = 'info',
    private readonly sink: LogSink = processSink,
    seen?: Set<string>,
  ) {
    this.seen = seen ?? new Set();
  }

  debug(message: string): void {
    this.write('debug', message);
  }
  info(message: string): void {
    this.write('info', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  error(message: string, error?: unknown): void {
    this.write('error', error === undefined ? message : `${message}: ${describeError(error)}`);
  }
  once(key: string, level: Exclude<LogLevel, 'silent'>, message: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.write(level, message);
  }
  child(scope: string): Logger {
    return new ConsoleLogger(`${this.scope}:${scope}`, this.level, this.sink, this.seen);
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = `[${this.scope}] ${level}: ${message}`;
    if (RANK[level] >= RANK.warn) this.sink.err(line);
    else this.sink.out(line);
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  }
  return String(error);
}
