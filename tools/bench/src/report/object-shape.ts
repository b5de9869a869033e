import type { BenchResult, ObjectShapeRows } from '../result';
import { formatMicros, formatRate } from '../stats';
import { bySize, formatSize, RAW } from './table';

/**
 * The object shape's part of the report: the sequential and in-flight tables again, with
 * `{ op, id, data }` as the payload, every ratio against raw UDS's object rows of the run.
 */
export function objectShapeParts(result: BenchResult, object: ObjectShapeRows, sizes: number[], inFlight: number): string[] {
  const unsupported = new Map(object.unsupported.map((u) => [u.target, u.reason]));
  const skipped = (target: string, size: number) => object.skipped.some((s) => s.target === target && s.size === size);
  const column = (size: number) => `${formatSize(size)} object`;
  const parts = [
    "**Sequential round trips, p50, object payload** `{ op: 'echo', id, data }`, `data` a Buffer of the column's size " +
      "(ratios: times faster than raw UDS's and NestJS TCP's object rows)\n\n" +
      bySize({
        targets: result.targets,
        sizes,
        rows: object.latency,
        value: (row) => row.p50,
        format: formatMicros,
        lowerIsBetter: true,
        column,
        instead: (target) => (unsupported.has(target) ? 'n/a' : undefined),
      }),
    `**${inFlight} requests in flight, object payload**, messages per second\n\n` +
      bySize({
        targets: result.targets,
        sizes,
        rows: object.throughput,
        value: (row) => row.rate,
        format: formatRate,
        lowerIsBetter: false,
        column,
        instead: (target, size) => (unsupported.has(target) ? 'n/a' : skipped(target, size) ? 'skipped' : undefined),
      }),
  ];
  if (result.targets.includes(RAW)) {
    parts.push(
      `${RAW} has no serialization: its object rows send the same bytes as its Buffer rows plus a 9-byte binary header (length, op code, id), ` +
        'in one write (writev from 16 KiB), echoed back as bytes. Against it, the object rows show what encoding the object costs next to hand-rolled framing.',
    );
  }
  for (const [target, reason] of unsupported) parts.push(`${target}: n/a for the object payload: ${reason}.`);
  return parts;
}
