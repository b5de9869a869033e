import { Mesh } from '@hostmesh/framework';
import type { BenchTarget } from './targets';
import { Echo, MAX_PAYLOAD_BYTES } from './targets';

/**
 * One client of the `replicas` instances of the echo service in `namespace`, calling
 * `busy(rounds)` (the services bind every endpoint to shm): with two or more, the client's least-in-flight balancing picks
 * the replica of each call. Counts the calls each replica answered, and the answers whose
 * hash is not `hash` (must be none). `roundTrip` ignores its payload: the workloads'
 * `pipelined` keeps the calls in flight.
 */
export interface ReplicaTarget extends BenchTarget {
  readonly replicas: number;
  /** Calls answered, by replica instance, since the last `take()`; and wrong answers. */
  take(): { byReplica: number[]; wrong: number };
  /** Resolves once the registry lists `replicas` instances (bounded). */
  ready(timeoutMs: number): Promise<void>;
}

export function replicaTarget(runtimeDir: string, namespace: string, replicas: number, rounds: number, hash: number): ReplicaTarget {
  const mesh = Mesh.connect({ runtimeDir, namespace, logLevel: 'warn', defaultTimeoutMs: 60_000, maxPayloadBytes: MAX_PAYLOAD_BYTES });
  // No client options: a client forced onto a mechanism or an address talks to one instance only.
  const client = mesh.client(Echo);
  let byReplica = new Array<number>(replicas).fill(0);
  let wrong = 0;
  return {
    name: `hostmesh shm × ${replicas}`,
    replicas,
    roundTrip: async () => {
      const answer = await client.busy(rounds);
      if (answer.hash !== hash || !(answer.instance >= 0 && answer.instance < replicas)) wrong++;
      else byReplica[answer.instance]!++;
    },
    take: () => {
      const taken = { byReplica, wrong };
      byReplica = new Array<number>(replicas).fill(0);
      wrong = 0;
      return taken;
    },
    ready: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = await mesh.registry.lookup(Echo.name);
        if (live.length >= replicas) return;
        if (Date.now() > deadline) throw new Error(`${live.length} of ${replicas} replicas in the registry after ${timeoutMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => mesh.close(),
  };
}
