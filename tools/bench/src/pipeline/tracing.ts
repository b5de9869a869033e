import * as api from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The real OpenTelemetry SDK, recording into memory, as an application would register it: the
 * tracing configuration of the pipeline bench, in the echo service and in the measuring client.
 * The framework takes @opentelemetry/api as a peer dependency, so this is the copy it uses too
 * (a provider registered through an older copy than the framework's would be invisible to it).
 */

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
