import { dirname } from 'node:path';
import type * as OtelApi from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The real OpenTelemetry SDK, recording into memory, as an application would register it: the
 * tracing configuration of the pipeline bench, in the echo service and in the measuring client.
 *
 * The API is the copy the framework itself loads. The checkout has two: the framework pins
 * @opentelemetry/api 1.10.0, the root holds 1.9.1 (hoisted for the CLI's prom-client). A provider
 * registered through 1.9.1 is invisible to 1.10.0 (its global is "incompatible" with a newer
 * minor), so the framework would see no SDK and this configuration would measure nothing.
 */
const api = require(require.resolve('@opentelemetry/api', { paths: [dirname(require.resolve('@hostmesh/framework/package.json'))] })) as typeof OtelApi;

/** Spans kept in memory at most: the exporter is emptied each time this many have ended. */
const RESET_EVERY = 10_000;

export interface BenchTracing {
  /** Registers the provider as the global one (once in a process that keeps it, or at every switch). */
  enable(): void;
  /** Unregisters it and empties the exporter: the process is untraced again. */
  disable(): void;
  /** Spans ended since the start (all of them, across resets and switches). */
  spans(): number;
}

/** `onReset` runs with the running total each time the exporter is emptied. */
export function benchTracing(onReset?: (spans: number) => void): BenchTracing {
  const exporter = new InMemorySpanExporter();
  let ended = 0;
  // After the exporter's processor: counts what ended, and keeps memory bounded.
  const bound: SpanProcessor = {
    onStart: () => undefined,
    onEnd: () => {
      if (++ended % RESET_EVERY === 0) {
        exporter.reset();
        onReset?.(ended);
      }
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter), bound] });
  return {
    enable: () => {
      if (!api.trace.setGlobalTracerProvider(provider)) throw new Error('could not register the OpenTelemetry tracer provider');
    },
    disable: () => {
      api.trace.disable();
      exporter.reset();
    },
    spans: () => ended,
  };
}
