import { BroadcastChannel } from 'node:worker_threads';

/**
 * Where the exit of a thread is announced, process-wide: `{ threadId }`. Whoever started the
 * thread says so (WorkerService does); whatever holds something of that thread (the thread
 * transport's connections: they end with ConnectionLostError instead of waiting on a ring no
 * one will fill) listens. A fact about the process, not about one mechanism: it sits in core.
 */
export const THREAD_GONE_CHANNEL = 'hostmesh.thread.gone';

export function announceThreadExit(exited: number): void {
  const channel = new BroadcastChannel(THREAD_GONE_CHANNEL);
  channel.postMessage({ threadId: exited });
  channel.close();
}
