import { BroadcastChannel } from 'node:worker_threads';

/**
 * Where the exit of a thread is announced, process-wide: `{ threadId }`. Whoever started the
 * thread says so (ServiceHost.startInWorker does); thread connections to it then end with
 * ConnectionLostError instead of waiting on a ring no one will fill.
 */
export const THREAD_GONE_CHANNEL = 'hostmesh.thread.gone';

export function announceThreadExit(exited: number): void {
  const channel = new BroadcastChannel(THREAD_GONE_CHANNEL);
  channel.postMessage({ threadId: exited });
  channel.close();
}
