import {
  context as otelContext,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { TransportKind } from '../transports/contract/transport';
import { METADATA_KEYS, type CallMetadata } from '../protocol/metadata';

/**
 * OpenTelemetry spans for calls and events, through `@opentelemetry/api` alone: whatever SDK
 * the application registers records them; with none registered, `tracing()` is false and no
 * span, header or closure is made. Trace context crosses processes in the frame metadata
 * (`traceparent`, `tracestate`, `baggage`), written here: the API package has no propagator
 * of its own, and depending on an SDK package would make it a runtime dependency.
 */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACER = '@hostmesh/framework';

/**
 * Whether an SDK is registered: the branch the untraced path pays. The provider is looked up
 * each time, not kept: an application may register it later, or through another copy of the API.
 */
export function tracing(): boolean {
  return (trace.getTracerProvider() as ProxyTracerProvider).getDelegate?.() !== NOOP_PROVIDER;
}

const tracer = () => trace.getTracer(TRACER);

/** The span context a `traceparent` entry names (W3C Trace Context, version 00), or undefined. */
export function remoteSpanContext(metadata: CallMetadata | undefined): SpanContext | undefined {
  const header = metadata?.[METADATA_KEYS.traceparent];
  const match = typeof header === 'string' ? TRACEPARENT.exec(header) : null;
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** The headers that carry `span` to the next process; `inherited` is the metadata of the call being served, whose baggage travels on. */
export function traceHeaders(span: Span, inherited: CallMetadata | undefined, headers?: CallMetadata): CallMetadata {
  const spanContext = span.spanContext();
  const out: Record<string, string | number> = { ...headers };
  out[METADATA_KEYS.traceparent] = `00-${spanContext.traceId}-${spanContext.spanId}-${spanContext.traceFlags & TraceFlags.SAMPLED ? '01' : '00'}`;
  const state = spanContext.traceState?.serialize() ?? inherited?.[METADATA_KEYS.tracestate];
  if (typeof state === 'string' && state !== '') out[METADATA_KEYS.tracestate] = state;
  const baggage = inherited?.[METADATA_KEYS.baggage];
  if (typeof baggage === 'string' && out[METADATA_KEYS.baggage] === undefined) out[METADATA_KEYS.baggage] = baggage;
  return out;
}

/** `pricing/quote`, a child of the call being served (or of the active context). */
export function startClientSpan(service: string, method: string, mechanism: TransportKind, parent: Context | undefined): Span {
  return tracer().startSpan(
    `${service}/${method}`,
    { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'hostmesh', 'rpc.service': service, 'rpc.method': method, 'hostmesh.mechanism': mechanism } },
    parent ?? otelContext.active(),
  );
}

/** The service side of a call, a child of the caller's span; returns the context its handler runs in. */
export function startServerSpan(route: string, mechanism: TransportKind, metadata: CallMetadata | undefined): { span: Span; context: Context } {
  const remote = remoteSpanContext(metadata);
  const parent = remote === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote);
  const dot = route.indexOf('.');
  const span = tracer().startSpan(
    `${route.slice(0, dot)}/${route.slice(dot + 1)}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'rpc.system': 'hostmesh', 'rpc.service': route.slice(0, dot), 'rpc.method': route.slice(dot + 1), 'hostmesh.mechanism': mechanism },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** `publish price.changed`, a child of the call being served (or of the active context). */
export function startProducerSpan(event: string, parent: Context | undefined): Span {
  return tracer().startSpan(
    `publish ${event}`,
    { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'hostmesh', 'messaging.destination.name': event, 'messaging.operation.type': 'send' } },
    parent ?? otelContext.active(),
  );
}

/** `process price.changed` in a subscriber: a child of the producer's span, and linked to it. */
export function startConsumerSpan(
  event: string,
  mechanism: TransportKind,
  metadata: CallMetadata | undefined,
  eventId: string,
): { span: Span; context: Context } {
  const remote = remoteSpanContext(metadata);
  const parent = remote === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, remote);
  const span = tracer().startSpan(
    `process ${event}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'hostmesh',
        'messaging.destination.name': event,
        'messaging.operation.type': 'process',
        'messaging.message.id': eventId,
        'hostmesh.mechanism': mechanism,
      },
      links: remote === undefined ? [] : [{ context: remote }],
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends `span`, recording `error` (with its code as `error.type`) when the call failed. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const code = (error as { code?: unknown }).code;
    const type = typeof code === 'string' ? code : error instanceof Error ? error.name : typeof error;
    span.setAttribute('error.type', type);
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** Runs `fn(...args)` with `context` active, for user code that reads the active span. */
export function withTraceContext<A extends unknown[], R>(context: Context, fn: (...args: A) => R, ...args: A): R {
  return otelContext.with(context, fn, undefined, ...args);
}
