import { fork } from 'node:child_process';
import { extname, join } from 'node:path';
import type { BenchTarget } from '../targets';

/** A target whose server is a child of this process: its pid is there for CPU accounting. */
export interface ChildBenchTarget extends BenchTarget {
  serverPid?: number;
}

type Reply = [id: number, payload: unknown];

/**
 * Node's built-in parent/child channel: `fork()` with `serialization: 'advanced'`, so a
 * Buffer travels as binary through V8's structured clone (length-prefixed, no base64 or
 * JSON), and `process.send` / the 'message' event at both ends. IPC exists only between a
 * parent and its child, so this target forks its own echo child (ipc-echo.child) instead
 * of connecting to a server the harness started. Each message is [correlation id,
 * payload], so any number can be in flight. The object shape goes the same way: structured
 * clone takes the object, Buffer and all.
 */
export async function ipcTarget(): Promise<ChildBenchTarget> {
  const child = fork(join(__dirname, `ipc-echo.child${extname(__filename)}`), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (payload: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let broken: Error | undefined;
  const fail = (error: Error) => {
    broken ??= error;
    for (const waiter of pending.values()) waiter.reject(broken);
    pending.clear();
  };
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      fail(new Error(`ipc echo child exited (${signal ?? code})`));
      resolve();
    }),
  );
  child.on('error', fail);

  await new Promise<void>((resolve, reject) => {
    child.on('message', (message) => {
      if (message === 'ready') return resolve();
      const [id, payload] = message as Reply;
      const waiter = pending.get(id);
      if (waiter === undefined) return;
      pending.delete(id);
      waiter.resolve(payload);
    });
    void exited.then(() => reject(broken));
  });

  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.disconnect();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
  };
  const roundTrip = (payload: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      if (broken) return reject(broken);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send([id, payload] satisfies Reply);
    });
  return { name: 'child_process IPC', serverPid: child.pid, roundTrip, roundTripObject: roundTrip, close };
}
