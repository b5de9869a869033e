import { hostname } from 'node:os';
import { bootstrap, Endpoint, Service } from '@hostmesh/framework';
import { Pricing, type PricingApi } from './contracts';

@Service(Pricing)
class PricingService implements PricingApi {
  @Endpoint()
  price(symbol: string): { symbol: string; price: number; host: string } {
    // HOSTMESH_HOST is the manifest's host key `hostmesh up --host` ran with.
    return { symbol, price: 100 + (symbol.length % 7), host: process.env.HOSTMESH_HOST ?? hostname() };
  }
}

void bootstrap(PricingService);
