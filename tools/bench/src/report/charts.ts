/**
 * SVG charts of one bench run (a BenchResult), for docs/benchmarks and for eyeballing a run
 * without a spreadsheet. Every chart lists every target in its legend, so a target that
 * failed or was not measured shows up as "no data" instead of silently vanishing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult, Sweep } from '../result';
import { barChart, compact, isValue, lineChart, sideBySide, toSvg, type BarChartSpec, type BarSeries, type Chart, type Series } from './svg';

// Raw UDS is the yardstick, so it is neutral grey; hostmesh is cool, its peers warm.
const RAW = ['#8a8a8a', '#b5b5b5', '#5c5c5c'];
const HOSTMESH = ['#1f6fd1', '#12a39a', '#6a4bd6', '#3fa7e8', '#17804c', '#8e9df7', '#0b4d8c', '#53c98a', '#2d3fa0', '#7fd3e6'];
const PEERS = ['#e07b1a', '#c8364e', '#b8860b', '#d9559a', '#8c4a1c', '#f2b134', '#a8324a', '#e89b6b'];

const micros = (v: number) => (v >= 1e6 ? `${compact(v / 1e6)} s` : v >= 1e3 ? `${compact(v / 1e3)} ms` : `${compact(v)} µs`);
const perSecond = (v: number) => (v >= 1e6 ? `${compact(v / 1e6)}M/s` : v >= 1e3 ? `${compact(v / 1e3)}k/s` : `${compact(v)}/s`);

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) [n, i] = [n / 1024, i + 1];
  return `${compact(n)} ${units[i]}`;
}

const unique = <T>(values: T[]) => [...new Set(values)];
const byNumber = (a: number, b: number) => a - b;

/** Each target keeps one colour in every chart of the run. */
function targetSeries(result: BenchResult): Series[] {
  const rows = [result.latency, result.throughput, result.events, result.cpu, result.sweep?.payload ?? [], result.sweep?.clients ?? []];
  const names = unique([...result.targets, ...rows.flatMap((r) => r.map((row) => row.target))]);
  const used = { raw: 0, hostmesh: 0, peer: 0 };
  return names.map((name) => {
    if (/^raw\b/i.test(name)) return { name, color: RAW[used.raw++ % RAW.length]!, dashed: true };
    if (name.startsWith('hostmesh ')) return { name, color: HOSTMESH[used.hostmesh++ % HOSTMESH.length]! };
    return { name, color: PEERS[used.peer++ % PEERS.length]! };
  });
}

function runNote(result: BenchResult): string {
  const parts = [result.date, `${result.quick ? 'quick' : 'full'} run`, `${result.rounds} round(s)`, result.pin ? 'pinned' : 'unpinned'];
  if (result.load) parts.push(`load ${result.load}`);
  if (result.busy) parts.push(`busy machine: ${isValue(result.stealSeconds) ? result.stealSeconds.toFixed(1) : '?'} s stolen`);
  return parts.join(' · ');
}

/** Why targets have nothing in a chart, where the run recorded it; the legend marks them "no data". */
function failureNotes(result: BenchResult, missing: string[]): string[] {
  return result.failures.filter((f) => missing.includes(f.target)).map((f) => `${f.target} failed: ${f.reason}`);
}

/** `reasons` is off where the run's failures (request/response workloads) cannot be why. */
function bars(result: BenchResult, series: BarSeries[], spec: Omit<BarChartSpec, 'series'>, reasons = true): Chart {
  const missing = series.filter((s) => !s.values.some(isValue)).map((s) => s.name);
  const notes = reasons ? failureNotes(result, missing) : [];
  return barChart({ ...spec, series, footnotes: [...notes, ...(spec.footnotes ?? [])] });
}

function latencyCharts(result: BenchResult, targets: Series[]): Array<[string, Chart]> {
  const sizes = unique(result.latency.map((r) => r.size)).sort(byNumber);
  return sizes.map((size) => {
    const series = targets.map((t): BarSeries => {
      const row = result.latency.find((r) => r.target === t.name && r.size === size);
      return { ...t, values: row ? [row.p50, row.p90, row.p99, row.p999] : [], ranges: row && Array.isArray(row.spread) ? [row.spread] : [] };
    });
    const chart = bars(result, series, {
      title: `Round-trip latency, ${bytes(size)} payload`,
      subtitle: 'sequential calls, one in flight; median of each percentile over rounds; whisker: p50 spread over rounds',
      categories: ['p50', 'p90', 'p99', 'p99.9'],
      value: { label: 'latency', log: true, format: micros },
      footnotes: [runNote(result)],
    });
    return [`latency-${size}.svg`, chart];
  });
}

function throughputChart(result: BenchResult, targets: Series[]): Chart {
  const inFlight = unique(result.throughput.map((r) => r.inFlight)).sort(byNumber);
  const keys = unique(result.throughput.map((r) => `${r.size}/${r.inFlight}`))
    .map((key) => key.split('/').map(Number) as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  // Only when one run mixes in-flight depths does the category need to say which.
  const label = ([size, depth]: [number, number]) => (inFlight.length > 1 ? `${bytes(size)} ×${depth}` : bytes(size));
  const series = targets.map((t): BarSeries => {
    const rows = keys.map(([size, depth]) => result.throughput.find((r) => r.target === t.name && r.size === size && r.inFlight === depth));
    return { ...t, values: rows.map((r) => r?.rate), ranges: rows.map((r) => (Array.isArray(r?.spread) ? r.spread : undefined)) };
  });
  return bars(result, series, {
    title: 'Throughput by payload size',
    subtitle: `pipelined calls, ${inFlight.join(' / ') || '?'} in flight; median over rounds; whisker: spread over rounds`,
    categories: keys.map(label),
    value: { label: 'calls per second', log: true, format: perSecond },
    footnotes: [runNote(result)],
  });
}

function eventsChart(result: BenchResult, targets: Series[]): Chart {
  const counts = unique(result.events.map((r) => r.count)).sort(byNumber);
  const series = targets.map((t): BarSeries => {
    const rows = counts.map((count) => result.events.find((r) => r.target === t.name && r.count === count));
    return {
      ...t,
      values: rows.map((r) => r?.rate),
      ranges: rows.map((r) => (Array.isArray(r?.spread) ? r.spread : undefined)),
      notes: rows.map((r) => (!r ? undefined : !isValue(r.lost) ? 'lost ?' : r.lost !== 0 ? `lost ${r.lost}` : undefined)),
    };
  });
  const lossy = result.events.filter((r) => !isValue(r.lost) || r.lost !== 0);
  const lost = lossy.length
    ? `lost events (published − received, must be 0): ${lossy.map((r) => `${r.target} ${isValue(r.lost) ? r.lost : 'unknown'}`).join(', ')}`
    : 'lost events (published − received): 0 for every target';
  return bars(
    result,
    series,
    {
      title: 'One-way events',
      subtitle: 'events published then a barrier; median rate over rounds; whisker: spread over rounds',
      categories: counts.map((count) => `${count.toLocaleString('en-US')} events`),
      value: { label: 'events per second', format: perSecond },
      footnotes: [lost, runNote(result)],
    },
    false,
  );
}

function cpuChart(result: BenchResult, targets: Series[]): Chart {
  const rows = targets.map((t) => result.cpu.find((r) => r.target === t.name));
  const idleSeconds = unique(result.cpu.map((r) => r.idleSeconds).filter(isValue));
  const idle = bars(
    result,
    targets.map((t, i): BarSeries => ({ ...t, values: [rows[i]?.idleServerPercent] })),
    {
      title: 'Idle server CPU',
      subtitle: `no traffic${idleSeconds.length ? `, over ${idleSeconds.join(' / ')} s` : ''}; lower is better`,
      categories: ['idle server'],
      value: { label: '% of one core', format: (v) => `${compact(v)}%` },
      legend: false,
    },
  );
  const busy = bars(
    result,
    targets.map((t, i): BarSeries => ({ ...t, values: [rows[i]?.serverMsPerKCall, rows[i]?.clientMsPerKCall] })),
    {
      title: 'CPU per 1000 calls',
      subtitle: '64 B sequential calls; lower is better',
      categories: ['server', 'client'],
      value: { label: 'CPU ms per 1000 calls', format: (v) => `${compact(v)} ms` },
      footnotes: [runNote(result)],
    },
  );
  return sideBySide([idle, busy]);
}

function sweepCharts(result: BenchResult, sweep: Sweep, targets: Series[]): Array<[string, Chart]> {
  const lines = <R extends { target: string }>(rows: R[], x: (r: R) => number, y: (r: R) => number) =>
    targets.map((t) => ({ ...t, points: rows.filter((r) => r.target === t.name).map((r) => ({ x: x(r), y: y(r) })) }));
  const footnotes = (series: ReturnType<typeof lines>) => [
    ...failureNotes(
      result,
      series.filter((s) => !s.points.some((p) => isValue(p.x) && isValue(p.y))).map((s) => s.name),
    ),
    runNote(result),
  ];
  const payload = lines(
    sweep.payload,
    (r) => r.size,
    (r) => r.p50,
  );
  const clients = lines(
    sweep.clients,
    (r) => r.clients,
    (r) => r.rate,
  );
  return [
    [
      'sweep-payload.svg',
      lineChart({
        title: 'Latency as the payload grows',
        subtitle: 'p50 of sequential round trips, one client',
        series: payload,
        x: { label: 'payload size', log: true, format: bytes },
        y: { label: 'p50 latency', log: true, format: micros },
        footnotes: footnotes(payload),
      }),
    ],
    [
      'sweep-clients.svg',
      lineChart({
        title: 'Throughput as client processes are added',
        subtitle: '64 B calls in flight from each client; total rate over all clients',
        series: clients,
        x: { label: 'client processes', format: (v) => String(v) },
        y: { label: 'total calls per second', format: perSecond },
        footnotes: footnotes(clients),
      }),
    ],
  ];
}

/** Writes the run's charts into `dir` (created if need be) and returns their paths. */
export function writeCharts(result: BenchResult, dir: string): string[] {
  const targets = targetSeries(result);
  const charts: Array<[string, Chart]> = [
    ...latencyCharts(result, targets),
    // A run of the stream rows alone (--streams-only) has none of these: no empty charts.
    ...(result.throughput.length || result.objectShape ? [['throughput.svg', throughputChart(result, targets)] as [string, Chart]] : []),
    ...(result.events.length ? [['events.svg', eventsChart(result, targets)] as [string, Chart]] : []),
    ...(result.cpu.length ? [['cpu.svg', cpuChart(result, targets)] as [string, Chart]] : []),
    ...(result.sweep ? sweepCharts(result, result.sweep, targets) : []),
  ];
  mkdirSync(dir, { recursive: true });
  return charts.map(([file, chart]) => {
    const path = join(dir, file);
    writeFileSync(path, toSvg(chart));
    return path;
  });
}
