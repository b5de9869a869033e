import { defineContract, EventType, type ContractApi } from '@hostmesh/framework';
import { z } from 'zod';

/** The schemas are the contract: the service checks every call against them, and the types come from them. */
export const QuoteRequest = z.object({ symbol: z.string().min(1), quantity: z.number().int().positive() });
export type QuoteRequest = z.infer<typeof QuoteRequest>;

export const Quote = z.object({ symbol: z.string(), quantity: z.number(), price: z.number(), total: z.number(), at: z.number() });
export type Quote = z.infer<typeof Quote>;

export const TickRequest = z.object({ symbols: z.array(z.string().min(1)).optional() });
export type TickRequest = z.infer<typeof TickRequest>;

export const Tick = z.object({ symbol: z.string(), price: z.number(), at: z.number() });
export type Tick = z.infer<typeof Tick>;

/** What the pricing service offers; clients and the service share it. */
export const Pricing = defineContract('pricing', {
  quote: { args: [QuoteRequest], result: Quote },
  symbols: { args: [], result: z.array(z.string()) },
  /** A live price feed: the current prices, then each change, for as long as the caller reads. */
  ticks: { args: [TickRequest], result: Tick, stream: true },
});
export type PricingApi = ContractApi<typeof Pricing>;

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
