import { sleep } from './spawn-service';

/** Retries `check` until it passes or `timeoutMs` has gone (~3 s): for effects that land asynchronously. */
export async function eventually(check: () => unknown, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}
