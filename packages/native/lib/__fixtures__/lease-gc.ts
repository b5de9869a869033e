import { endLease, keepLease, ShmSegment } from '../shm-segment';

// Takes leases of a segment the way a pool's receiver does, under --trace-gc and --expose-gc,
// and prints what the collector did once the module is loaded (the lines after "measuring").
//   brief: 10 leases of 64 MiB, each ended at once (a handler's argument, a released result);
//   kept:  leases of 8 MiB kept by the application and dropped (results never released), until
//          the collector has taken some, or 1000 of them: prints how many were collected.
//          When V8 starts collecting depends on its timing: on a loaded machine it took 110.
const [name, mode] = process.argv.slice(2);
const segment = ShmSegment.create(name!, 65 << 20, { sparse: true, expose: 4096 });
const collected = { count: 0 };
const registry = new FinalizationRegistry(() => collected.count++);

void (async () => {
  // Whatever loading the module started (incremental marking) is finished first.
  (globalThis as { gc?: () => void }).gc?.();
  console.log('measuring');
  if (mode === 'brief') {
    for (let i = 0; i < 10; i++) endLease(segment.lease(4096, 64 << 20, 0, 0));
  } else {
    let taken = 0;
    for (let i = 0; i < 1000 && collected.count === 0; i++, taken++) {
      const view = segment.lease(4096 + (i % 8) * (8 << 20), 8 << 20, 0, 0);
      registry.register(view.buffer, i);
      keepLease(view);
      // Turns of the event loop, as between calls: finalizers run between them.
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    for (let i = 0; i < 20 && collected.count === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    console.log(`collected ${collected.count} of ${taken}`);
  }
  ShmSegment.unlink(name!);
  console.log('done');
})();
