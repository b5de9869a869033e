import { inject, injectable, multiInject, optional } from 'inversify';
import { InvalidTransportError } from '../../core/errors/errors';
import { LOGGER, type Logger } from '../../core/logger';
import { TRANSPORT, type Transport } from './transport';

type TransportClass = abstract new (...args: never[]) => Transport;
export type TransportSpec = string | TransportClass | { type: string | TransportClass; options?: Record<string, unknown> };

/** Finds registered transports by kind, by class or by `{ type, options }`. */
@injectable('Singleton')
export class TransportRegistry {
  private readonly byKind = new Map<string, Transport>();

  constructor(@multiInject(TRANSPORT) @optional() transports: Transport[] | undefined, @inject(LOGGER) logger: Logger) {
    for (const transport of transports ?? []) {
      if (this.byKind.has(transport.kind)) logger.warn(`transport '${transport.kind}' registered twice; the last one wins`);
      this.byKind.set(transport.kind, transport);
    }
  }

  kinds(): string[] {
    return [...this.byKind.keys()];
  }

  has(kind: string): boolean {
    return this.byKind.has(kind);
  }

  resolve(spec: TransportSpec): Transport {
    if (typeof spec === 'object' && spec !== null && !isClass(spec)) {
      const transport = this.resolve(spec.type);
      if (!spec.options) return transport;
      if (!transport.withOptions) {
        throw new InvalidTransportError(`Invalid transport options: transport '${transport.kind}' takes no options`);
      }
      return transport.withOptions(spec.options);
    }
    if (typeof spec === 'string') {
      const transport = this.byKind.get(spec);
      if (transport) return transport;
      throw new InvalidTransportError(`Invalid transport '${spec}': registered transports are ${this.describe()}`);
    }
    if (isClass(spec)) {
      for (const transport of this.byKind.values()) if (transport instanceof spec) return transport;
      throw new InvalidTransportError(`Invalid transport class '${spec.name}': it is not registered (registered: ${this.describe()})`);
    }
    throw new InvalidTransportError(`Invalid transport ${JSON.stringify(spec)}: expected a kind, a class or { type, options }`);
  }

  private describe(): string {
    return this.byKind.size ? [...this.byKind.keys()].join(', ') : 'none';
  }
}

function isClass(value: unknown): value is TransportClass {
  return typeof value === 'function';
}
