import { type CallContext, Ctx, Endpoint, EventBus, inject, LOGGER, type Logger, OnSignal, OnStart, OnStop, Service } from '@hostmesh/framework';
import { AuditLog } from './audit-log';
import { Pricing, PriceChanged, UnknownSymbolError, type PricingApi, type Quote, type QuoteRequest, type Tick, type TickRequest } from './contracts';

const OPENING_PRICES: Record<string, number> = { ACME: 101.5, GLOBEX: 42.25, INITECH: 7.8 };

@Service(Pricing)
export class PricingService implements PricingApi {
  private prices = { ...OPENING_PRICES };
  private ticker: NodeJS.Timeout | undefined;
  /** Feeds waiting for the next price change. */
  private readonly listeners = new Set<(symbol: string) => void>();

  constructor(
    @inject(EventBus) private readonly events: EventBus,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  /** The hot path: shared memory by default (`auto`), and callable from shells on a named pipe. */
  @Endpoint({ timeoutMs: 1000, shell: true })
  async quote({ symbol, quantity }: QuoteRequest): Promise<Quote> {
    const price = this.prices[symbol];
    if (price === undefined) throw new UnknownSymbolError(`no price for ${symbol}`);
    return { symbol, quantity, price, total: Math.round(price * quantity * 100) / 100, at: Date.now() };
  }

  /** Rarely called: frames over a pair of named pipes are plenty. */
  @Endpoint({ binding: 'fifo' })
  symbols(): string[] {
    return Object.keys(this.prices);
  }

  /**
   * A live feed over the ring: the current prices, then every change. A consumer slower than
   * the market gets the latest price when it reads again, not a backlog (the feed conflates).
   */
  @Endpoint()
  async *ticks({ symbols }: TickRequest, @Ctx() context?: CallContext): AsyncIterable<Tick> {
    const wanted = symbols === undefined || symbols.length === 0 ? Object.keys(this.prices) : symbols;
    for (const symbol of wanted) if (this.prices[symbol] === undefined) throw new UnknownSymbolError(`no price for ${symbol}`);
    for (const symbol of wanted) yield { symbol, price: this.prices[symbol]!, at: Date.now() };
    const signal = context!.signal;
    while (!signal.aborted) {
      const symbol = await this.nextChange(signal);
      if (symbol !== null && wanted.includes(symbol)) yield { symbol, price: this.prices[symbol]!, at: Date.now() };
    }
  }

  /** The symbol whose price changes next, or null once `signal` aborts (the caller left). */
  private nextChange(signal: AbortSignal): Promise<string | null> {
    return new Promise((resolve) => {
      const done = (symbol: string | null) => {
        this.listeners.delete(done);
        signal.removeEventListener('abort', aborted);
        resolve(symbol);
      };
      const aborted = () => done(null);
      this.listeners.add(done);
      signal.addEventListener('abort', aborted);
    });
  }

  @OnStart()
  startTicker(): void {
    this.ticker = setInterval(() => void this.tick(), 700);
  }

  @OnStop()
  stopTicker(): void {
    clearInterval(this.ticker);
  }

  @OnSignal('SIGHUP')
  reset(): void {
    this.prices = { ...OPENING_PRICES };
    this.logger.info('SIGHUP: prices reset to the opening prices');
  }

  private async tick(): Promise<void> {
    const symbols = Object.keys(this.prices);
    const symbol = symbols[Math.floor(Math.random() * symbols.length)]!;
    const price = Math.round(this.prices[symbol]! * (0.98 + Math.random() * 0.04) * 100) / 100;
    this.prices[symbol] = price;
    for (const listener of [...this.listeners]) listener(symbol);
    try {
      await this.events.publish(new PriceChanged(symbol, price));
      await this.audit.record(`price ${symbol} ${price.toFixed(2)}`);
    } catch (error) {
      this.logger.warn(`price.changed not delivered: ${(error as Error).message}`);
    }
  }
}
