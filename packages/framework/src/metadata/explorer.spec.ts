import { defineContract } from '../contracts/contract';
import { Ctx } from '../decorators/ctx.decorator';
import { Endpoint } from '../decorators/endpoint.decorator';
import { EventType } from '../decorators/event-type.decorator';
import { On } from '../decorators/on.decorator';
import { OnSignal } from '../decorators/on-signal.decorator';
import { OnStart } from '../decorators/on-start.decorator';
import { OnStop } from '../decorators/on-stop.decorator';
import { Service } from '../decorators/service.decorator';
import { BootstrapError } from '../core/errors/errors';
import { routeId } from '../protocol/route-id';
import type { CallContext } from '../contracts/call-context';
import type { ServiceSignal } from './types';
import { eventDefinition, exploreService } from './explorer';

const Shop = defineContract<unknown>('shop');

@EventType('order.placed', { priority: 7 })
class OrderPlaced {}

class NotAnEvent {}

describe('exploreService', () => {
  it('reads endpoints, subscriptions, hooks and signals with their routes and options', () => {
    @Service(Shop, { binding: 'socket' })
    class ShopService {
      @Endpoint({ timeoutMs: 250 })
      order(_id: string, @Ctx() _ctx?: CallContext) {}
      @Endpoint({ name: 'stock', binding: 'tcp' })
      inventory() {}
      @On(OrderPlaced)
      placed() {}
      @OnStart()
      begin() {}
      @OnStop()
      end() {}
      @OnSignal('SIGHUP')
      reload() {}
    }
    const definition = exploreService(ShopService);
    expect(definition.name).toBe('shop');
    expect(definition.endpoints).toEqual([
      {
        method: 'order',
        name: 'order',
        route: 'shop.order',
        id: routeId('shop.order'),
        binding: 'socket',
        timeoutMs: 250,
        idempotent: false,
        attemptTimeoutMs: undefined,
        bulkhead: undefined,
        balance: undefined,
        contextIndex: 1,
        shell: false,
        guards: [],
        interceptors: [],
      },
      {
        method: 'inventory',
        name: 'stock',
        route: 'shop.stock',
        id: routeId('shop.stock'),
        binding: 'tcp',
        timeoutMs: undefined,
        idempotent: false,
        attemptTimeoutMs: undefined,
        bulkhead: undefined,
        balance: undefined,
        contextIndex: -1,
        shell: false,
        guards: [],
        interceptors: [],
      },
    ]);
    expect(definition.subscriptions).toEqual([
      {
        method: 'placed',
        event: { name: 'order.placed', priority: 7, whenFull: 'wait', broadcast: false, id: routeId('order.placed'), cls: OrderPlaced, ownFields: true },
        contextIndex: -1,
      },
    ]);
    expect(definition.onStart).toEqual(['begin']);
    expect(definition.onStop).toEqual(['end']);
    expect(definition.signals).toEqual([{ signal: 'SIGHUP', method: 'reload' }]);
  });

  it('names the class and method of an endpoint on a class that is not a service', () => {
    class Stray {
      @Endpoint()
      lost() {}
    }
    expect(() => exploreService(Stray)).toThrow(new BootstrapError('Stray.lost is decorated as a handler but Stray has no @Service(contract) decorator'));
  });

  it('refuses a class with no decorators at all', () => {
    class Plain {}
    expect(() => exploreService(Plain)).toThrow('Plain is not a service: add @Service(contract) to it');
  });

  it('names both methods when two endpoints claim the same route', () => {
    @Service(Shop)
    class Twice {
      @Endpoint({ name: 'order' })
      first() {}
      @Endpoint({ name: 'order' })
      second() {}
    }
    expect(() => exploreService(Twice)).toThrow("Twice.first and Twice.second both expose route 'shop.order'");
  });

  it('names the handler whose @On class is not an @EventType', () => {
    @Service(Shop)
    class Listener {
      @On(NotAnEvent)
      handle() {}
    }
    expect(() => exploreService(Listener)).toThrow('Listener.handle: NotAnEvent is not an event: add @EventType(name) to it');
  });

  it.each(['SIGKILL', 'SIGSEGV', 'SIGTERM'])('refuses @OnSignal(%s) at bootstrap', (signal) => {
    @Service(Shop)
    class Signalled {
      @OnSignal(signal as ServiceSignal)
      handle() {}
    }
    expect(() => exploreService(Signalled)).toThrow(BootstrapError);
    expect(() => exploreService(Signalled)).toThrow(`Signalled.handle: @OnSignal('${signal}') is not allowed`);
  });

  it('refuses @Ctx() outside endpoint and event handlers', () => {
    @Service(Shop)
    class Misplaced {
      @OnStart()
      begin(@Ctx() _ctx?: CallContext) {}
    }
    expect(() => exploreService(Misplaced)).toThrow('Misplaced.begin: @Ctx() is only valid on @Endpoint and @On handlers');
  });

  it.each([
    ['then', /endpoint name 'then' must be an identifier/],
    ['has space', /endpoint name 'has space' must be an identifier/],
  ])('refuses the endpoint name %p', (name, message) => {
    @Service(Shop)
    class Named {
      @Endpoint({ name })
      handle() {}
    }
    expect(() => exploreService(Named)).toThrow(message);
  });

  it('refuses a non-positive timeout and an unknown binding, naming the method', () => {
    @Service(Shop)
    class BadTimeout {
      @Endpoint({ timeoutMs: 0 })
      handle() {}
    }
    expect(() => exploreService(BadTimeout)).toThrow('BadTimeout.handle: timeoutMs must be a positive number of milliseconds, got 0');
    @Service(Shop)
    class BadBinding {
      @Endpoint({ binding: 'carrier-pigeon' as never })
      handle() {}
    }
    expect(() => exploreService(BadBinding)).toThrow("BadBinding.handle: unknown binding 'carrier-pigeon'");
  });

  it('lets a subclass inherit endpoints without changing its parent', () => {
    @Service(Shop)
    class Base {
      @Endpoint()
      order() {}
    }
    @Service(Shop)
    class Extended extends Base {
      @Endpoint()
      refund() {}
    }
    expect(exploreService(Extended).endpoints.map((e) => e.name)).toEqual(['order', 'refund']);
    expect(exploreService(Base).endpoints.map((e) => e.name)).toEqual(['order']);
  });
});

describe('eventDefinition', () => {
  it('refuses a priority outside 0..31', () => {
    @EventType('too.loud', { priority: 32 })
    class TooLoud {}
    expect(() => eventDefinition(TooLoud)).toThrow('TooLoud: event priority must be an integer from 0 to 31, got 32');
  });

  it('refuses an event name that is not a dotted identifier', () => {
    @EventType('has space')
    class Spaced {}
    expect(() => eventDefinition(Spaced)).toThrow("Spaced: event name 'has space' must start with a letter");
  });

  it('reads an ordering key from a field or a function, as a string, and refuses keys that are neither', () => {
    @EventType('transfer.made', { key: 'account' })
    class ByField {
      constructor(readonly account: unknown) {}
    }
    @EventType('transfer.checked', { key: (event: { bank: string; id: number }) => `${event.bank}/${event.id}` })
    class ByFunction {
      constructor(
        readonly bank: string,
        readonly id: number,
      ) {}
    }
    expect(eventDefinition(ByField).keyOf!(new ByField('acct-1'))).toBe('acct-1');
    expect(eventDefinition(ByField).keyOf!(new ByField(42))).toBe('42');
    expect(() => eventDefinition(ByField).keyOf!(new ByField({}))).toThrow('ByField: its ordering key (account) is object, not a string or a number');
    expect(eventDefinition(ByFunction).keyOf!(new ByFunction('acme', 7))).toBe('acme/7');
    expect(eventDefinition(OrderPlaced).keyOf).toBeUndefined();
    @EventType('transfer.bad', { key: 3 as unknown as string })
    class BadKey {}
    expect(() => eventDefinition(BadKey)).toThrow(BootstrapError);
  });
});
