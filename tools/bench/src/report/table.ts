/** Markdown tables of the report, and the ratios in their cells. */

export const RAW = 'raw UDS';
export const NEST = 'NestJS TCP';

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

export function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

/** "×" ratios read as "times better": baseline latency / latency, or rate / baseline rate. */
export function ratio(value: number, baseline: number | undefined, lowerIsBetter: boolean): string {
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

export interface BySizeSpec<T extends { target: string; size: number }> {
  targets: string[];
  sizes: number[];
  /** The rows of one shape: raw UDS's and NestJS's among them are the ratios' baselines. */
  rows: T[];
  value: (row: T) => number;
  format: (value: number) => string;
  lowerIsBetter: boolean;
  column: (size: number) => string;
  /** What a cell says instead of a value ('skipped', 'n/a'), where the target was not measured by design. */
  instead?: (target: string, size: number) => string | undefined;
}

/** A row per target and a column per payload size, each value with its ratios to raw UDS and NestJS TCP. */
export function bySize<T extends { target: string; size: number }>(spec: BySizeSpec<T>): string {
  const find = (target: string, size: number) => {
    const row = spec.rows.find((r) => r.target === target && r.size === size);
    return row && spec.value(row);
  };
  return table(
    ['target', ...spec.sizes.map(spec.column)],
    spec.targets.map((target) => [
      target,
      ...spec.sizes.map(
        (size) => spec.instead?.(target, size) ?? cell(find(target, size), spec.format, find(RAW, size), find(NEST, size), spec.lowerIsBetter, target),
      ),
    ]),
  );
}
