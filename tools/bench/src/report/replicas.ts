import type { BenchResult } from '../result';
import { formatRate } from '../stats';
import { table } from './table';

const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const percent = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} %` : '–');

/**
 * The replica rows: calls/s of the CPU-bound endpoint on 1, 2 and 3 replicas side by side,
 * each against 1 replica, with the machine's core count next to them (with fewer cores than
 * replicas plus the client, the ratio is capped by the machine, not by the balancing).
 */
export function replicaParts(result: BenchResult): string[] {
  const replicas = result.replicas;
  if (!replicas || replicas.rows.length === 0) return [];
  const most = Math.max(...replicas.rows.map((row) => row.replicas));
  const cores = `This machine has ${replicas.cores} core${replicas.cores === 1 ? '' : 's'} (\`os.availableParallelism()\`)`;
  const limit =
    replicas.cores < most
      ? `: ${most} replicas cannot beat ${replicas.cores} here, and the client shares the cores too`
      : `, which the client shares with the replicas`;
  const scaling = replicas.rows
    .filter((row) => row.replicas !== 1)
    .map((row) => `${row.replicas} replicas / 1 = ${times(row.scaling)}`)
    .join(', ');
  return [
    `**A CPU-bound endpoint on ${replicas.rows.map((row) => row.replicas).join(', ')} replicas**: ~${replicas.workMicros.toFixed(0)} µs of hashing per call ` +
      `(${replicas.rounds} rounds, calibrated once), over shm, ${replicas.inFlight} calls in flight from one client that balances them (least in flight), ` +
      `${replicas.calls} calls per measurement; ${replicas.placement}. ${cores}${limit}.\n\n` +
      table(
        ['replicas', 'calls/s', 'vs 1 replica', 'spread', 'calls per replica', 'replicas CPU', 'client CPU', 'replica CPU per call', 'wrong'],
        replicas.rows.map((row) => [
          String(row.replicas),
          Number.isFinite(row.rate) ? formatRate(row.rate) : 'failed',
          times(row.scaling),
          Number.isFinite(row.rate) ? `${formatRate(row.spread[0])}–${formatRate(row.spread[1])}` : '',
          row.shares.map((share) => percent(share * 100)).join(' / '),
          percent(row.replicaCpuPercent),
          percent(row.clientCpuPercent),
          Number.isFinite(row.replicaMicrosPerCall) ? `${row.replicaMicrosPerCall.toFixed(0)} µs` : '–',
          String(row.wrong),
        ]),
      ) +
      (scaling ? `\n\nScaling: ${scaling}.` : ''),
  ];
}
