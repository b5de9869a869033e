import type { GuardRef, InterceptorRef } from '../contracts/call-pipeline';
import type { Contract } from '../contracts/contract';
import { BootstrapError } from '../core/errors/errors';
import { packsAsOwnFields } from '../protocol/codec';
import { endpointRoute, routeId } from '../protocol/route-id';
import {
  CONTEXT_PARAMS_METADATA,
  ENDPOINTS_METADATA,
  EVENT_TYPE_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  LIFECYCLE_METADATA,
  SERVICE_METADATA,
  SIGNALS_METADATA,
  SUBSCRIPTIONS_METADATA,
} from './keys';
import { readClassList, readClassValue } from './reflect';
import {
  BINDING_REQUESTS,
  SERVICE_SIGNALS,
  type BindingRequest,
  type ContextParamMetadata,
  type EndpointMetadata,
  type EventTypeMetadata,
  type EventTypeOptions,
  type LifecycleMetadata,
  type PipelineMetadata,
  type ServiceMetadata,
  type ServiceOptions,
  type ServiceSignal,
  type SignalMetadata,
  type SubscriptionMetadata,
} from './types';

export interface EndpointDefinition {
  method: string;
  /** The name callers use (the method name unless renamed). */
  name: string;
  /** `service.name` on the wire. */
  route: string;
  id: number;
  binding: BindingRequest;
  timeoutMs: number | undefined;
  idempotent: boolean;
  attemptTimeoutMs: number | undefined;
  bulkhead: { limit: number; queue: number } | undefined;
  balance: 'least-in-flight' | 'round-robin' | undefined;
  contextIndex: number;
  shell: boolean;
  /** From @UseGuards / @UseInterceptors: the class's first, then the method's. */
  guards: GuardRef[];
  interceptors: InterceptorRef[];
}

export interface EventDefinition {
  name: string;
  priority: number;
  whenFull: 'wait' | 'reject';
  /** Every instance of each subscriber gets it (EventTypeOptions.broadcast). */
  broadcast: boolean;
  /** The event's ordering key (EventTypeOptions.key), as a string; undefined for unordered events. */
  keyOf?: (event: object) => string;
  id: number;
  cls: Function;
  /** Its instances pack as the plain copy of their own fields (see packsAsOwnFields): publishers send that copy. */
  ownFields?: boolean;
}

export interface SubscriptionDefinition {
  method: string;
  event: EventDefinition;
  contextIndex: number;
}

export interface ServiceDefinition {
  cls: Function;
  name: string;
  contract: Contract<unknown>;
  options: ServiceOptions;
  endpoints: EndpointDefinition[];
  subscriptions: SubscriptionDefinition[];
  onStart: string[];
  onStop: string[];
  signals: Array<{ signal: ServiceSignal; method: string }>;
}

/** Names a client proxy must never forward, because runtimes probe objects for them. */
const RESERVED = new Set(['then', 'catch', 'finally', 'constructor', 'toJSON', 'toString', 'valueOf', 'inspect']);
const ENDPOINT_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,127}$/;
const EVENT_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,127}$/;

export function isCallableName(name: string): boolean {
  return ENDPOINT_NAME.test(name) && !RESERVED.has(name);
}

/**
 * Reads everything the decorators recorded on a service class and checks it, so that
 * misuse fails at bootstrap with the class and method named rather than at the first call.
 */
export function exploreService(cls: Function): ServiceDefinition {
  const className = cls.name || '<anonymous class>';
  const service = readClassValue<ServiceMetadata>(SERVICE_METADATA, cls);
  const endpoints = readClassList<EndpointMetadata>(ENDPOINTS_METADATA, cls);
  const subscriptions = readClassList<SubscriptionMetadata>(SUBSCRIPTIONS_METADATA, cls);
  if (!service) {
    const decorated = endpoints[0]?.method ?? subscriptions[0]?.method;
    if (decorated) {
      throw new BootstrapError(`${className}.${decorated} is decorated as a handler but ${className} has no @Service(contract) decorator`);
    }
    throw new BootstrapError(`${className} is not a service: add @Service(contract) to it`);
  }
  const name = service.contract.name;
  const contexts = readClassList<ContextParamMetadata>(CONTEXT_PARAMS_METADATA, cls);
  const contextIndex = (method: string) => contexts.find((c) => c.method === method)?.index ?? -1;
  const handlerMethods = new Set<string>();
  const requireMethod = (method: string, decorator: string) => {
    if (typeof (cls.prototype as Record<string, unknown>)[method] !== 'function') {
      throw new BootstrapError(`${className}.${method} is decorated with ${decorator} but is not an instance method`);
    }
    handlerMethods.add(method);
  };
  checkBinding(`${className}`, service.options.binding);
  const guards = readClassList<PipelineMetadata<GuardRef>>(GUARDS_METADATA, cls);
  const interceptors = readClassList<PipelineMetadata<InterceptorRef>>(INTERCEPTORS_METADATA, cls);
  const pipeline = <T>(entries: readonly PipelineMetadata<T>[], method: string): T[] => [
    ...entries.filter((entry) => entry.method === undefined).flatMap((entry) => entry.refs),
    ...entries.filter((entry) => entry.method === method).flatMap((entry) => entry.refs),
  ];

  const byRoute = new Map<string, string>();
  const byId = new Map<number, string>();
  const endpointDefinitions = endpoints.map((endpoint): EndpointDefinition => {
    requireMethod(endpoint.method, '@Endpoint');
    const endpointName = endpoint.options.name ?? endpoint.method;
    const where = `${className}.${endpoint.method}`;
    if (!isCallableName(endpointName)) {
      throw new BootstrapError(`${where}: endpoint name '${endpointName}' must be an identifier and not one of ${[...RESERVED].join(', ')}`);
    }
    const route = endpointRoute(name, endpointName);
    const clash = byRoute.get(route);
    if (clash) throw new BootstrapError(`${clash} and ${where} both expose route '${route}'`);
    const id = routeId(route);
    const collision = byId.get(id);
    if (collision) throw new BootstrapError(`${collision} and ${where} hash to the same route id ${id}: rename one endpoint`);
    byRoute.set(route, where);
    byId.set(id, where);
    checkBinding(where, endpoint.options.binding);
    const timeoutMs = endpoint.options.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
      throw new BootstrapError(`${where}: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    const attemptTimeoutMs = endpoint.options.attemptTimeoutMs;
    if (attemptTimeoutMs !== undefined && (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0)) {
      throw new BootstrapError(`${where}: attemptTimeoutMs must be a positive number of milliseconds, got ${attemptTimeoutMs}`);
    }
    const bulkhead = endpoint.options.bulkhead;
    if (
      bulkhead !== undefined &&
      (!Number.isInteger(bulkhead.limit) || bulkhead.limit < 1 || (bulkhead.queue !== undefined && (!Number.isInteger(bulkhead.queue) || bulkhead.queue < 0)))
    ) {
      throw new BootstrapError(`${where}: bulkhead must be { limit: a positive integer, queue?: a non-negative integer }`);
    }
    return {
      method: endpoint.method,
      name: endpointName,
      route,
      id,
      binding: endpoint.options.binding ?? service.options.binding ?? 'auto',
      timeoutMs,
      idempotent: endpoint.options.idempotent === true,
      attemptTimeoutMs,
      bulkhead: bulkhead === undefined ? undefined : { limit: bulkhead.limit, queue: bulkhead.queue ?? 0 },
      balance: endpoint.options.balance,
      contextIndex: contextIndex(endpoint.method),
      shell: endpoint.options.shell === true,
      guards: pipeline(guards, endpoint.method),
      interceptors: pipeline(interceptors, endpoint.method),
    };
  });
  for (const [decorator, entries] of [
    ['@UseGuards', guards],
    ['@UseInterceptors', interceptors],
  ] as const) {
    for (const entry of entries) {
      if (entry.method !== undefined && !endpoints.some((endpoint) => endpoint.method === entry.method)) {
        throw new BootstrapError(`${className}.${entry.method}: ${decorator} is only valid on the class or on @Endpoint methods`);
      }
      if (entry.refs.some((ref) => (typeof ref !== 'object' && typeof ref !== 'function') || ref === null)) {
        throw new BootstrapError(`${className}${entry.method === undefined ? '' : `.${entry.method}`}: ${decorator} takes classes or instances`);
      }
    }
  }

  const subscriptionDefinitions = subscriptions.map((subscription): SubscriptionDefinition => {
    requireMethod(subscription.method, '@On');
    const where = `${className}.${subscription.method}`;
    return { method: subscription.method, event: eventDefinition(subscription.event, where), contextIndex: contextIndex(subscription.method) };
  });

  const lifecycle = readClassList<LifecycleMetadata>(LIFECYCLE_METADATA, cls);
  for (const hook of lifecycle) requireMethod(hook.method, hook.hook === 'start' ? '@OnStart' : '@OnStop');
  const signals = readClassList<SignalMetadata>(SIGNALS_METADATA, cls).map((entry) => {
    requireMethod(entry.method, '@OnSignal');
    if (!SERVICE_SIGNALS.includes(entry.signal as ServiceSignal)) {
      throw new BootstrapError(
        `${className}.${entry.method}: @OnSignal('${entry.signal}') is not allowed; use one of ${SERVICE_SIGNALS.join(', ')} (SIGTERM/SIGINT drain the service: use @OnStop)`,
      );
    }
    return { signal: entry.signal as ServiceSignal, method: entry.method };
  });

  for (const context of contexts) {
    if (!handlerMethods.has(context.method) || lifecycle.some((hook) => hook.method === context.method)) {
      throw new BootstrapError(`${className}.${context.method}: @Ctx() is only valid on @Endpoint and @On handlers`);
    }
  }

  return {
    cls,
    name,
    contract: service.contract,
    options: service.options,
    endpoints: endpointDefinitions,
    subscriptions: subscriptionDefinitions,
    onStart: lifecycle.filter((hook) => hook.hook === 'start').map((hook) => hook.method),
    onStop: lifecycle.filter((hook) => hook.hook === 'stop').map((hook) => hook.method),
    signals,
  };
}

const eventCache = new WeakMap<Function, EventDefinition>();

/** The definition of an @EventType class; `where` names the use site in the error. */
export function eventDefinition(cls: Function, where = 'publish'): EventDefinition {
  const cached = eventCache.get(cls);
  if (cached) return cached;
  const className = typeof cls === 'function' ? cls.name || '<anonymous class>' : String(cls);
  const metadata = typeof cls === 'function' ? readClassValue<EventTypeMetadata>(EVENT_TYPE_METADATA, cls) : undefined;
  if (!metadata) throw new BootstrapError(`${where}: ${className} is not an event: add @EventType(name) to it`);
  if (!EVENT_NAME.test(metadata.name)) {
    throw new BootstrapError(`${className}: event name '${metadata.name}' must start with a letter and hold only letters, digits, '.', '_' or '-'`);
  }
  const priority = metadata.options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 31) {
    throw new BootstrapError(`${className}: event priority must be an integer from 0 to 31, got ${priority}`);
  }
  const whenFull = metadata.options.whenFull ?? 'wait';
  if (whenFull !== 'wait' && whenFull !== 'reject') {
    throw new BootstrapError(`${className}: whenFull must be 'wait' or 'reject', got ${JSON.stringify(whenFull)}`);
  }
  const broadcast = metadata.options.broadcast === true;
  const keyOf = orderingKey(className, metadata.options.key);
  const definition: EventDefinition = {
    name: metadata.name,
    priority,
    whenFull,
    broadcast,
    ...(keyOf ? { keyOf } : {}),
    id: routeId(metadata.name),
    cls,
    ownFields: packsAsOwnFields(cls),
  };
  eventCache.set(cls, definition);
  eventsById.set(definition.id, definition);
  return definition;
}

const eventsById = new Map<number, EventDefinition>();

/** EventTypeOptions.key as a function giving a string; a key that is neither a string nor a number is refused when read. */
function orderingKey(className: string, key: EventTypeOptions['key']): ((event: object) => string) | undefined {
  if (key === undefined) return undefined;
  if (typeof key === 'string' && key !== '') {
    return (event) => keyString(className, (event as Record<string, unknown>)[key], key);
  }
  if (typeof key === 'function') return (event) => keyString(className, (key as (event: object) => unknown)(event), 'key()');
  throw new BootstrapError(`${className}: an event's key must be a field name or a function of the event, got ${JSON.stringify(key)}`);
}

function keyString(className: string, value: unknown, from: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new TypeError(`${className}: its ordering key (${from}) is ${value === null ? 'null' : typeof value}, not a string or a number`);
}

/** An event known only by name (no class here): for tools that publish what they do not define. */
export function namedEvent(name: string, priority: number): EventDefinition {
  if (!EVENT_NAME.test(name)) throw new BootstrapError(`event name '${name}' must start with a letter and hold only letters, digits, '.', '_' or '-'`);
  if (!Number.isInteger(priority) || priority < 0 || priority > 31) throw new BootstrapError(`event priority must be an integer from 0 to 31, got ${priority}`);
  const definition: EventDefinition = eventsById.get(routeId(name)) ?? { name, priority, whenFull: 'wait', broadcast: false, id: routeId(name), cls: Object };
  if (!eventsById.has(definition.id)) eventsById.set(definition.id, definition);
  return definition;
}

/** The priority of the event with route id `id`, as far as this process knows it (else 0). */
export function eventPriority(id: number): number {
  return eventsById.get(id)?.priority ?? 0;
}

function checkBinding(where: string, binding: BindingRequest | undefined): void {
  if (binding !== undefined && !BINDING_REQUESTS.includes(binding)) {
    throw new BootstrapError(`${where}: unknown binding '${binding}'; use one of ${BINDING_REQUESTS.join(', ')}`);
  }
}
