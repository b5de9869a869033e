import { isProcessAlive } from '@hostmesh/native';
import { readState } from '../supervisor/state-file';
import { meshOf, runtimeOf, type TargetOptions } from './context';

/**
 * `hostmesh down`: asks the namespace's supervisor to drain (SIGTERM) and waits until it
 * is gone. With --purge, the durable event queues of the namespace go too.
 */
export async function down(options: TargetOptions & { purge?: boolean; timeoutMs?: number; json?: boolean }): Promise<number> {
  const dir = runtimeOf(options);
  const state = readState(dir);
  const report = (message: string, stopped: boolean) =>
    process.stdout.write(options.json ? JSON.stringify({ namespace: dir.namespace, stopped, message }) + '\n' : `${message}\n`);
  let stopped = false;
  if (!state) {
    report(`nothing is running in namespace '${dir.namespace}'`, false);
  } else {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (isProcessAlive(state.pid, state.startTime)) {
      if (Date.now() > deadline) {
        report(`supervisor pid ${state.pid} is still draining after ${options.timeoutMs ?? 60_000} ms`, false);
        return 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stopped = true;
  }
  if (options.purge) {
    const mesh = meshOf(options);
    const queues = await mesh.registry.purgeSubscriptions();
    await mesh.close(0);
    if (queues.length > 0 && !options.json) process.stdout.write(`removed event queues ${queues.join(', ')}\n`);
  }
  if (stopped) report(`stopped the deployment in namespace '${dir.namespace}' (supervisor pid ${state!.pid})`, true);
  return 0;
}
