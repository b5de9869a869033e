import type { BenchResult } from '../result';
import { formatMicros, formatRate } from '../stats';
import { objectShapeParts } from './object-shape';
import { replicaParts } from './replicas';
import { streamParts } from './streams';
import { bySize, formatSize, RAW, ratio, table } from './table';

export { formatSize, NEST, RAW } from './table';

/** The whole report: what docs/benchmarks.md shows and the bench prints. */
export function renderMarkdown(result: BenchResult): string {
  const sizes = [...new Set(result.latency.map((row) => row.size))];
  const parts: string[] = [];
  parts.push(
    `${result.quick ? 'Quick' : 'Full'} run of ${result.date}: ${result.rounds} interleaved round(s), ${result.pin ? 'client on CPU 0 and servers on CPU 1' : 'unpinned'}, load average ${result.load}.` +
      (result.busy ? ` **The machine was busy**: ${result.stealSeconds.toFixed(1)} s of CPU stolen by the hypervisor.` : ''),
  );
  const inFlight = result.throughput[0]?.inFlight ?? result.objectShape?.throughput[0]?.inFlight ?? 64;
  if (sizes.length) {
    parts.push(
      '**Sequential round trips, p50**, Buffer payload (ratios: times faster than raw UDS and than NestJS TCP)\n\n' +
        bySize({
          targets: result.targets,
          sizes,
          rows: result.latency,
          value: (row) => row.p50,
          format: formatMicros,
          lowerIsBetter: true,
          column: formatSize,
        }),
    );
    // From 1 MiB the pool's tail matters too (the goal: p99 at most 2× its own p50), so each such size has its table.
    for (const size of sizes.filter((s, i) => i === 0 || s >= 1 << 20)) parts.push(distribution(result, size));
    parts.push(
      `**${inFlight} requests in flight**, Buffer payload, messages per second\n\n` +
        bySize({
          targets: result.targets,
          sizes,
          rows: result.throughput,
          value: (row) => row.rate,
          format: formatRate,
          lowerIsBetter: false,
          column: formatSize,
          instead: (target, size) => ((result.skipped ?? []).some((s) => s.target === target && s.size === size) ? 'skipped' : undefined),
        }),
    );
  }
  if (result.objectShape) {
    const objectSizes = [...new Set(result.objectShape.latency.map((row) => row.size))];
    parts.push(...objectShapeParts(result, result.objectShape, sizes.length ? sizes : objectSizes, inFlight));
  }
  const rawEvents = result.events.find((row) => row.target === RAW)?.rate;
  // A run of the stream or replica rows alone (--streams-only, --replicas-only) has no events, CPU or sparse rows: no empty tables.
  if (result.events.length)
    parts.push(
      `**One-way events** (${result.events[0]?.count ?? 0} × ~64 B, then a barrier that counts what arrived)\n\n` +
        table(
          ['target', 'events/s', 'vs raw UDS', 'lost'],
          result.events.map((row) => [row.target, formatRate(row.rate), ratio(row.rate, rawEvents, false), String(row.lost)]),
        ),
    );
  if (result.cpu.length)
    parts.push(
      `**CPU** (from /proc; per 1000 sequential 64 B calls, and with no traffic for ${result.cpu[0]?.idleSeconds ?? 0} s)\n\n` +
        table(
          ['target', 'server ms / 1000 calls', 'client ms / 1000 calls', 'server idle CPU'],
          result.cpu.map((row) => [row.target, row.serverMsPerKCall.toFixed(1), row.clientMsPerKCall.toFixed(1), `${row.idleServerPercent.toFixed(2)} %`]),
        ),
    );
  if (result.sparse.length)
    parts.push(
      '**Sparse traffic**: one 64 B call per millisecond, so both ends are asleep when it comes\n\n' +
        table(
          ['target', 'p50', 'p99'],
          result.sparse.map((row) => [row.target, formatMicros(row.p50), formatMicros(row.p99)]),
        ),
    );
  parts.push(...streamParts(result));
  parts.push(...replicaParts(result));
  if (result.sweep) {
    const names = [...new Set(result.sweep.payload.map((row) => row.target))];
    const payloadSizes = [...new Set(result.sweep.payload.map((row) => row.size))];
    parts.push(
      '**Scaling with payload size** (one client: p50 of sequential calls / rate with 8 in flight)\n\n' +
        table(
          ['payload', ...names],
          payloadSizes.map((size) => [
            formatSize(size),
            ...names.map((name) => {
              const row = result.sweep!.payload.find((r) => r.target === name && r.size === size);
              return row ? `${formatMicros(row.p50)} / ${formatRate(row.rate)}` : 'failed';
            }),
          ]),
        ),
    );
    const clientNames = [...new Set(result.sweep.clients.map((row) => row.target))];
    const counts = [...new Set(result.sweep.clients.map((row) => row.clients))];
    parts.push(
      '**Scaling with client processes** (each keeps 16 calls of 64 B in flight: total rate / median p50)\n\n' +
        table(
          ['clients', ...clientNames],
          counts.map((clients) => [
            String(clients),
            ...clientNames.map((name) => {
              const row = result.sweep!.clients.find((r) => r.target === name && r.clients === clients);
              return row ? `${formatRate(row.rate)} / ${formatMicros(row.p50)}` : 'failed';
            }),
          ]),
        ),
    );
  }
  if (result.sweep?.isolated) {
    const rawRate = result.sweep.isolated.find((row) => row.target === 'raw UDS')?.rate;
    parts.push(
      '**64 requests in flight, each run from a client process of its own** (64 B Buffer; median of the runs: the rows above share one client process with every target)\n\n' +
        table(
          ['target', 'calls/s', 'vs raw UDS', 'runs', 'p50'],
          result.sweep.isolated.map((row) => [
            row.target,
            formatRate(row.rate),
            rawRate ? `${(row.rate / rawRate).toFixed(2)}×` : '-',
            row.runs.map(formatRate).join(', '),
            formatMicros(row.p50),
          ]),
        ),
    );
  }
  for (const skip of skipNotes(result)) parts.push(`${skip.target} sat out ${formatSize(skip.size)}${skip.shapes} × ${inFlight} in flight: ${skip.reason}.`);
  for (const failure of result.failures) parts.push(`${failure.target} failed: ${failure.reason}; its later rows are missing.`);
  return parts.join('\n\n') + '\n';
}

/** Sequential percentiles of every target at one size; from 1 MiB also p99 / p50. */
function distribution(result: BenchResult, size: number): string {
  const tail = size >= 1 << 20;
  return (
    `**Latency distribution at ${formatSize(size)}**, Buffer payload (median over rounds; spread = min–max p50 of the rounds)\n\n` +
    table(
      ['target', 'p50', 'p90', 'p99', 'p99.9', ...(tail ? ['p99 / p50'] : []), 'p50 spread'],
      result.targets.map((target) => {
        const row = result.latency.find((r) => r.target === target && r.size === size);
        if (!row) return [target, 'failed', '', '', '', ...(tail ? [''] : []), ''];
        return [
          target,
          ...[row.p50, row.p90, row.p99, row.p999].map(formatMicros),
          ...(tail ? [`${(row.p99 / row.p50).toFixed(2)}×`] : []),
          `${formatMicros(row.spread[0])}–${formatMicros(row.spread[1])}`,
        ];
      }),
    )
  );
}

/** Each skip once: a target sitting out a size for the same reason in both shapes is one note. */
function skipNotes(result: BenchResult): Array<{ target: string; size: number; reason: string; shapes: string }> {
  const buffer = result.skipped ?? [];
  const object = result.objectShape?.skipped ?? [];
  const same = (a: (typeof buffer)[number], b: (typeof buffer)[number]) => a.target === b.target && a.size === b.size && a.reason === b.reason;
  if (!result.objectShape) return buffer.map((skip) => ({ ...skip, shapes: '' }));
  return [
    ...buffer.map((skip) => ({ ...skip, shapes: object.some((o) => same(o, skip)) ? ' (Buffer and object payloads)' : ' (Buffer payload)' })),
    ...object.filter((o) => !buffer.some((skip) => same(o, skip))).map((skip) => ({ ...skip, shapes: ' (object payload)' })),
  ];
}
