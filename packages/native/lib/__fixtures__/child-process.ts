import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * Test children run these TypeScript fixtures directly, compiled as jest compiles them.
 * Every child is killed when the test process exits, even after a failure.
 */
const REGISTER = require.resolve('@hostmesh/framework/register-ts');
const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((child) => child.kill('SIGKILL')));

export interface Child {
  process: ChildProcess;
  /** Lines the child printed on stdout, as they came. */
  lines: string[];
  /** Resolves with the first line matching `pattern`. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<unknown>;
}

export function startFixture(name: string, args: string[] = [], options: { cpu?: number; nodeArgs?: string[] } = {}): Child {
  const argv = [...(options.nodeArgs ?? []), '-r', REGISTER, '--conditions=hostmesh-source', join(__dirname, `${name}.ts`), ...args];
  const child = options.cpu === undefined ? spawn(process.execPath, argv) : spawn('taskset', ['-c', String(options.cpu), process.execPath, ...argv]);
  live.add(child);
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    listeners.forEach((listener) => listener());
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16384);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      listeners.forEach((listener) => listener());
      resolve({ code, signal });
    }),
  );
  return {
    process: child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 10_000) {
      const find = () => lines.find((line) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${lines.join('\n')}; stderr: ${stderr}`)),
          timeoutMs,
        );
        const check = () => {
          const found = find();
          if (found !== undefined) finish(undefined, found);
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`child exited before printing ${pattern}; stderr: ${stderr}`));
        };
        const finish = (error?: Error, line?: string) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function uniqueName(label: string): string {
  return `/hm.${process.getuid?.() ?? 0}.test.${label}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
}
