import type { BenchResult } from '../result';
import { formatMicros, formatRate } from '../stats';

export const RAW = 'raw UDS';
export const NEST = 'NestJS TCP';

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** "×" ratios read as "times better": baseline latency / latency, or rate / baseline rate. */
function ratio(value: number, baseline: number | undefined, lowerIsBetter: boolean): string {
  if (baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline) || value <= 0) return '–';
  const times = lowerIsBetter ? baseline / value : value / baseline;
  return `${times >= 10 ? times.toFixed(1) : times.toFixed(2)}×`;
}

function cell(
  value: number | undefined,
  format: (v: number) => string,
  raw: number | undefined,
  nest: number | undefined,
  lowerIsBetter: boolean,
  target: string,
): string {
  if (value === undefined || !Number.isFinite(value)) return 'failed';
  const ratios = [
    target !== RAW ? `${ratio(value, raw, lowerIsBetter)} raw` : '',
    target !== NEST && nest !== undefined ? `${ratio(value, nest, lowerIsBetter)} Nest` : '',
  ].filter(Boolean);
  return ratios.length ? `${format(value)} (${ratios.join(', ')})` : format(value);
}

/** The whole report: what docs/benchmarks.md shows and the bench prints. */
export function renderMarkdown(result: BenchResult): string {
  const sizes = [...new Set(result.latency.map((row) => row.size))];
  const find = <T extends { target: string; size: number }>(rows: T[], target: string, size: number) =>
    rows.find((row) => row.target === target && row.size === size);
  const parts: string[] = [];
  parts.push(
    `${result.quick ? 'Quick' : 'Full'} run of ${result.date}: ${result.rounds} interleaved round(s), ${result.pin ? 'client on CPU 0 and servers on CPU 1' : 'unpinned'}, load average ${result.load}.` +
      (result.busy ? ` **The machine was busy**: ${result.stealSeconds.toFixed(1)} s of CPU stolen by the hypervisor.` : ''),
  );
  parts.push(
    '**Sequential round trips, p50** (ratios: times faster than raw UDS and than NestJS TCP)\n\n' +
      table(
        ['target', ...sizes.map(formatSize)],
        result.targets.map((target) => [
          target,
          ...sizes.map((size) =>
            cell(
              find(result.latency, target, size)?.p50,
              formatMicros,
              find(result.latency, RAW, size)?.p50,
              find(result.latency, NEST, size)?.p50,
              true,
              target,
            ),
          ),
        ]),
      ),
  );
  parts.push(
    `**Latency distribution at ${formatSize(sizes[0]!)}** (median over rounds; spread = min–max p50 of the rounds)\n\n` +
      table(
        ['target', 'p50', 'p90', 'p99', 'p99.9', 'p50 spread'],
        result.targets.map((target) => {
          const row = find(result.latency, target, sizes[0]!);
          if (!row) return [target, 'failed', '', '', '', ''];
          return [
            target,
            formatMicros(row.p50),
            formatMicros(row.p90),
            formatMicros(row.p99),
            formatMicros(row.p999),
            `${formatMicros(row.spread[0])}–${formatMicros(row.spread[1])}`,
          ];
        }),
      ),
  );
  const inFlight = result.throughput[0]?.inFlight ?? 64;
  parts.push(
    `**${inFlight} requests in flight**, messages per second\n\n` +
      table(
        ['target', ...sizes.map(formatSize)],
        result.targets.map((target) => [
          target,
          ...sizes.map((size) =>
            (result.skipped ?? []).some((s) => s.target === target && s.size === size)
              ? 'skipped'
              : cell(
                  find(result.throughput, target, size)?.rate,
                  formatRate,
                  find(result.throughput, RAW, size)?.rate,
                  find(result.throughput, NEST, size)?.rate,
                  false,
                  target,
                ),
          ),
        ]),
      ),
  );
  const rawEvents = result.events.find((row) => row.target === RAW)?.rate;
  parts.push(
    `**One-way events** (${result.events[0]?.count ?? 0} × ~64 B, then a barrier that counts what arrived)\n\n` +
      table(
        ['target', 'events/s', 'vs raw UDS', 'lost'],
        result.events.map((row) => [row.target, formatRate(row.rate), ratio(row.rate, rawEvents, false), String(row.lost)]),
      ),
  );
  parts.push(
    `**CPU** (from /proc; per 1000 sequential 64 B calls, and with no traffic for ${result.cpu[0]?.idleSeconds ?? 0} s)\n\n` +
      table(
        ['target', 'server ms / 1000 calls', 'client ms / 1000 calls', 'server idle CPU'],
        result.cpu.map((row) => [row.target, row.serverMsPerKCall.toFixed(1), row.clientMsPerKCall.toFixed(1), `${row.idleServerPercent.toFixed(2)} %`]),
      ),
  );
  parts.push(
    '**Sparse traffic**: one 64 B call per millisecond, so both ends are asleep when it comes\n\n' +
      table(
        ['target', 'p50', 'p99'],
        result.sparse.map((row) => [row.target, formatMicros(row.p50), formatMicros(row.p99)]),
      ),
  );
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
  for (const skip of result.skipped ?? []) parts.push(`${skip.target} sat out ${formatSize(skip.size)} × ${inFlight} in flight: ${skip.reason}.`);
  for (const failure of result.failures) parts.push(`${failure.target} failed: ${failure.reason}; its later rows are missing.`);
  return parts.join('\n\n') + '\n';
}
