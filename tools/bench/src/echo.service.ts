import { readlinkSync, writeSync } from 'node:fs';
import { isMainThread, parentPort } from 'node:worker_threads';
import { bootstrap, Endpoint, On, Service, type CallInterceptor, type HostOptions } from '@hostmesh/framework';
import type { benchTracing } from './pipeline/tracing';
import { busyWork } from './busy-work';
import { BenchTick, Echo, type EchoApi, type EchoObject } from './targets';

/** Which replica this is (the replica rows start the service 1, 2 and 3 times, instances 0, 1, 2). */
const instance = Number(process.env.HOSTMESH_INSTANCE ?? '0');

@Service(Echo)
class EchoService implements EchoApi {
  private ticks = 0;

  @Endpoint()
  echo(payload: Buffer): Buffer {
    return payload;
  }

  /** The object shape (issue 16): the same bytes inside a request object, for the codec to encode both ways. */
  @Endpoint()
  echoObject(payload: EchoObject): EchoObject {
    return payload;
  }

  /** Events received so far: the barrier of the one-way benchmark. */
  @Endpoint()
  tickCount(): number {
    return this.ticks;
  }

  /**
   * The stream rows: one Buffer of `size` bytes yielded `n` times, as the raw stream server
   * writes one Buffer `n` times. Items of 4 KiB or more travel as raw frames of their own.
   */
  @Endpoint()
  async *items(n: number, size: number): AsyncIterable<Buffer> {
    const item = Buffer.alloc(size, 5);
    for (let i = 0; i < n; i++) yield item;
  }

  /**
   * The replica rows: a CPU-bound call (about 50 µs, calibrated by the bench). Started as
   * replicas, each with its HOSTMESH_INSTANCE; idempotent, as such work usually is.
   */
  @Endpoint({ idempotent: true })
  busy(rounds: number): { instance: number; hash: number } {
    return { instance, hash: busyWork(rounds) };
  }

  @On(BenchTick)
  onTick(): void {
    this.ticks++;
  }
}

/** The no-op interceptor of the pipeline bench (pipeline/main.ts): what having one at all costs. */
const noop: CallInterceptor = {
  intercept(_ctx, _args, next) {
    return next();
  },
};

/**
 * HOSTMESH_BENCH_PIPELINE (the pipeline bench): `interceptor` registers `noop` globally,
 * `tracing` the OpenTelemetry SDK, reporting `bench:spans <total>` on stdout as it empties its
 * exporter and at exit. Unset: nothing configured, the service every other bench measures.
 */
function pipelineOptions(): HostOptions {
  const pipeline = process.env.HOSTMESH_BENCH_PIPELINE ?? '';
  if (pipeline === '') return {};
  if (pipeline === 'interceptor') return { interceptors: [noop] };
  if (pipeline === 'tracing') {
    // Loaded only here: the other configurations do not even load the SDK.
    const tracing = (require('./pipeline/tracing') as { benchTracing: typeof benchTracing }).benchTracing((spans) => writeSync(1, `bench:spans ${spans}\n`));
    tracing.enable();
    process.once('exit', () => writeSync(1, `bench:spans ${tracing.spans()}\n`));
    return {};
  }
  throw new Error(`HOSTMESH_BENCH_PIPELINE='${pipeline}': expected interceptor or tracing`);
}

// Mechanism, namespace and runtime directory come from the HOSTMESH_* variables the bench sets.
// In a worker thread of the bench (the thread mechanism), once ready: its kernel thread id, for CPU accounting and pinning.
void bootstrap(EchoService, pipelineOptions()).then(() => {
  if (!isMainThread) parentPort?.postMessage({ type: 'bench:tid', tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) });
});
