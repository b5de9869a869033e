import { defineContract } from '@hostmesh/framework';

export interface PricingApi {
  price(symbol: string): { symbol: string; price: number; host: string };
}
export const Pricing = defineContract<PricingApi>('pricing');

export interface DeskApi {
  /** Asks pricing (on the other host) and says where the answer came from. */
  quote(symbol: string, quantity: number): Promise<{ symbol: string; total: number; pricedOn: string; desk: string }>;
}
export const Desk = defineContract<DeskApi>('desk');
