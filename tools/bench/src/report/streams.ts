import type { BenchResult, StreamRow } from '../result';
import { formatRate } from '../stats';
import { formatSize, RAW, ratio, table } from './table';

/** The issue's goals for the stream rows: hostmesh shm against raw UDS of the same run. */
export const STREAM_GOALS: Record<StreamRow['workload'], { target: string; times: number }> = {
  items: { target: 'hostmesh shm', times: 2 },
  chunks: { target: 'hostmesh shm', times: 3 },
};

export function formatBytesPerSecond(value: number): string {
  if (!Number.isFinite(value)) return 'failed';
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} GB/s`;
  return `${(value / 1e6).toFixed(value >= 1e8 ? 0 : 1)} MB/s`;
}

const count = (n: number) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6} M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3} k` : String(n));

/** The goal cell of a row: met or missed, on the target the goal is about; empty elsewhere. */
function goal(row: StreamRow, raw: StreamRow | undefined): string {
  const wanted = STREAM_GOALS[row.workload];
  if (row.target !== wanted.target) return '';
  const value = row.workload === 'items' ? row.rate : row.bytesPerSecond;
  const baseline = raw && (row.workload === 'items' ? raw.rate : raw.bytesPerSecond);
  if (baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline)) return `≥ ${wanted.times}× raw: –`;
  return `≥ ${wanted.times}× raw: ${value >= wanted.times * baseline ? 'met' : 'missed'}`;
}

/** One table per stream workload: the rate that matters first, its ratio to raw UDS of the run, the goal, CPU, and what was lost. */
export function streamParts(result: BenchResult): string[] {
  const rows = result.streams ?? [];
  const parts: string[] = [];
  for (const workload of ['items', 'chunks'] as const) {
    const these = rows.filter((row) => row.workload === workload);
    if (these.length === 0) continue;
    const first = these[0]!;
    const raw = these.find((row) => row.target === RAW);
    const total = first.items * first.itemBytes;
    const title =
      workload === 'items'
        ? `**Stream of ${count(first.items)} items of ${formatSize(first.itemBytes)}**`
        : `**Stream of ${total >= 1 << 30 ? `${total / (1 << 30)} GiB` : formatSize(total)} in ${formatSize(first.itemBytes)} chunks** (${first.items} items)`;
    const primary = workload === 'items' ? 'items/s' : 'GB/s';
    parts.push(
      `${title}, Buffer items, service → client (one stream, default window: 4096 items / 4 MiB; each item released once read; ratios: times raw UDS's rate in the same run)\n\n` +
        table(
          ['target', primary, workload === 'items' ? 'MB/s' : 'items/s', 'vs raw UDS', 'goal', 'spread', 'server CPU', 'client CPU', 'lost'],
          these.map((row) => {
            const rate = workload === 'items' ? formatRate(row.rate) : formatBytesPerSecond(row.bytesPerSecond);
            const other = workload === 'items' ? formatBytesPerSecond(row.bytesPerSecond) : formatRate(row.rate);
            const versus =
              row.target === RAW ? '1.00×' : workload === 'items' ? ratio(row.rate, raw?.rate, false) : ratio(row.bytesPerSecond, raw?.bytesPerSecond, false);
            const spread = Number.isFinite(row.rate) ? `${formatRate(row.spread[0])}–${formatRate(row.spread[1])}` : '';
            return [
              row.target,
              Number.isFinite(row.rate) ? rate : 'failed',
              Number.isFinite(row.rate) ? other : '',
              versus,
              goal(row, raw),
              spread,
              `${row.serverCpuPercent.toFixed(0)} %`,
              `${row.clientCpuPercent.toFixed(0)} %`,
              String(row.lost + row.wrong),
            ];
          }),
        ),
    );
  }
  return parts;
}
