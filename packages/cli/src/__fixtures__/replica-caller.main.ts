import 'reflect-metadata';
import { bootstrap, type Client, clientOf, defineContract, Endpoint, inject, OnStart, OnStop, Service } from '@hostmesh/framework';
import { Replicas, type ReplicaApi } from './replica.contract';

const LOOPS = 8;

/**
 * Calls `replicas` in a steady load from the moment it starts: its breakers are what
 * `hostmesh ps` shows. Several loops, so that a stopped replica has calls pile up (and fail
 * together) while the others keep being answered.
 */
@Service(defineContract<{ answered(): number }>('replica-caller'))
class ReplicaCaller {
  private running = true;
  private loops: Array<Promise<void>> = [];
  private ok = 0;

  constructor(@inject(clientOf(Replicas)) private readonly replicas: Client<ReplicaApi>) {}

  @OnStart()
  start(): void {
    const client = this.replicas.$with({ timeoutMs: 1000 });
    this.loops = Array.from({ length: LOOPS }, async (_, loop) => {
      for (let n = loop; this.running; n += LOOPS) {
        await client.work(n).then(
          () => this.ok++,
          () => undefined, // a failed call feeds the breaker; the loop goes on
        );
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    });
  }

  @OnStop()
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  @Endpoint()
  answered(): number {
    return this.ok;
  }
}

void bootstrap(ReplicaCaller);
