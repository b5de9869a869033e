import { hostname } from 'node:os';
import { bootstrap, clientOf, Endpoint, inject, Service, type Client } from '@hostmesh/framework';
import { Desk, Pricing, type DeskApi, type PricingApi } from './contracts';

@Service(Desk)
class DeskService implements DeskApi {
  constructor(@inject(clientOf(Pricing)) private readonly pricing: Client<PricingApi>) {}

  @Endpoint()
  async quote(symbol: string, quantity: number): Promise<{ symbol: string; total: number; pricedOn: string; desk: string }> {
    // pricing runs on the other host: the registry has it from the manifest, the call goes over TLS.
    const { price, host } = await this.pricing.price(symbol);
    return { symbol, total: price * quantity, pricedOn: host, desk: process.env.HOSTMESH_HOST ?? hostname() };
  }
}

void bootstrap(DeskService);
