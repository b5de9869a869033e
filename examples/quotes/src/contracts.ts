import { defineContract, EventType } from '@hostmesh/framework';

export interface QuoteRequest {
  symbol: string;
  quantity: number;
}

export interface Quote {
  symbol: string;
  quantity: number;
  price: number;
  total: number;
  at: number;
}

/** What the pricing service offers; clients and the service share this type. */
export interface PricingApi {
  quote(request: QuoteRequest): Promise<Quote>;
  symbols(): string[];
}
export const Pricing = defineContract<PricingApi>('pricing');

export interface MonitorApi {
  /** How many quotes and price events the monitor has seen. */
  stats(): { quotes: number; priceEvents: number };
}
export const Monitor = defineContract<MonitorApi>('monitor');

@EventType('price.changed', { priority: 5 })
export class PriceChanged {
  constructor(
    readonly symbol: string,
    readonly price: number,
  ) {}
}

/** Thrown by the pricing service for symbols it does not quote; arrives typed at callers. */
export class UnknownSymbolError extends Error {
  override readonly name = 'UnknownSymbolError';
  readonly code = 'UNKNOWN_SYMBOL';
  readonly retryable = false;
}
