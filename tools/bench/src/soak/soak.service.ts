import { bootstrap, Endpoint, On, Service } from '@hostmesh/framework';
import { checksum, Soak, SoakTick, type SoakApi } from './soak.contract';

@Service(Soak)
class SoakService implements SoakApi {
  private readonly counts: Record<string, number> = {};

  @Endpoint()
  echo(tag: number, payload: Buffer): [number, number, Buffer] {
    return [tag, checksum(payload), payload];
  }

  @Endpoint()
  received(): Record<string, number> {
    return this.counts;
  }

  @On(SoakTick)
  onTick(tick: SoakTick): void {
    this.counts[tick.publisher] = (this.counts[tick.publisher] ?? 0) + 1;
  }
}

// Mechanism, namespace and runtime directory come from the HOSTMESH_* variables the soak sets.
void bootstrap(SoakService);
