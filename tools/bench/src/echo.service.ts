import { readlinkSync } from 'node:fs';
import { isMainThread, parentPort } from 'node:worker_threads';
import { bootstrap, Endpoint, On, Service } from '@hostmesh/framework';
import { BenchTick, Echo, type EchoApi } from './targets';

@Service(Echo)
class EchoService implements EchoApi {
  private ticks = 0;

  @Endpoint()
  echo(payload: Buffer): Buffer {
    return payload;
  }

  /** Events received so far: the barrier of the one-way benchmark. */
  @Endpoint()
  tickCount(): number {
    return this.ticks;
  }

  @On(BenchTick)
  onTick(): void {
    this.ticks++;
  }
}

// Mechanism, namespace and runtime directory come from the HOSTMESH_* variables the bench sets.
// In a worker thread of the bench (the thread mechanism), once ready: its kernel thread id, for CPU accounting and pinning.
void bootstrap(EchoService).then(() => {
  if (!isMainThread) parentPort?.postMessage({ type: 'bench:tid', tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) });
});
