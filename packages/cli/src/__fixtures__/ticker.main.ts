import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrap, type CallContext, Ctx, defineContract, Endpoint, Service } from '@hostmesh/framework';

/** A service for `hostmesh call` on result streams: finite, failing, and endless ones. */
@Service(defineContract('ticker'))
class TickerService {
  private readonly stoppedTags: string[] = [];

  @Endpoint()
  async *count(n: number): AsyncIterable<unknown> {
    for (let i = 0; i < n; i++) yield { n: i };
    // A Buffer item, to show the CLI prints it as it prints a Buffer result.
    yield Buffer.from('hi');
  }

  @Endpoint()
  async *failAfter(n: number): AsyncIterable<number> {
    for (let i = 0; i < n; i++) yield i;
    throw Object.assign(new Error(`ran dry after ${n} items`), { code: 'RAN_DRY' });
  }

  /** Endless until its caller leaves; `stopped` then names `tag` (its return() ran). */
  @Endpoint()
  async *ticks(tag: string, @Ctx() context?: CallContext): AsyncIterable<number> {
    try {
      for (let i = 0; ; i++) {
        yield i;
        await sleep(20, undefined, { signal: context!.signal });
      }
    } finally {
      this.stoppedTags.push(tag);
      process.stdout.write(`ticks ${tag} stopped\n`);
    }
  }

  @Endpoint()
  stopped(): string[] {
    return this.stoppedTags;
  }
}

void bootstrap(TickerService);
