import { type Client, clientOf, Endpoint, inject, LOGGER, type Logger, On, OnStart, OnStop, Service } from '@hostmesh/framework';
import { AuditLog } from './audit-log';
import { Monitor, Pricing, PriceChanged, type MonitorApi, type PricingApi } from './contracts';

/** Calls the pricing service every second and prints the price events it publishes. */
@Service(Monitor)
export class MonitorService implements MonitorApi {
  private quotes = 0;
  private priceEvents = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @inject(clientOf(Pricing)) private readonly pricing: Client<PricingApi>,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  @Endpoint()
  stats() {
    return { quotes: this.quotes, priceEvents: this.priceEvents };
  }

  @OnStart()
  start(): void {
    this.timer = setInterval(() => void this.quoteOnce(), 1000);
    void this.quoteOnce();
  }

  @OnStop()
  stop(): void {
    clearInterval(this.timer);
  }

  @On(PriceChanged)
  onPriceChanged(event: PriceChanged): void {
    this.priceEvents++;
    this.logger.info(`event  price.changed ${event.symbol} → ${event.price.toFixed(2)}`);
  }

  private async quoteOnce(): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const quote = await this.pricing.quote({ symbol: 'ACME', quantity: 10 });
      const micros = Number(process.hrtime.bigint() - started) / 1000;
      this.quotes++;
      this.logger.info(`call   pricing.quote ACME x10 = ${quote.total.toFixed(2)} (${micros.toFixed(0)} µs round trip)`);
      if (this.quotes === 1) this.logger.info(`call   pricing.symbols = ${(await this.pricing.symbols()).join(', ')}`);
      await this.audit.record(`quote ACME x10 ${quote.total.toFixed(2)}`);
    } catch (error) {
      this.logger.warn(`call   pricing.quote failed: ${(error as Error).message}`);
    }
  }
}
