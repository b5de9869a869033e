import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { BenchResult } from '../result';
import { writeCharts } from './charts';
import { escapeXml } from './svg';

const SIZES = [64, 4096, 1 << 20];

/** A run shaped like a real one, with the holes real runs have: a failed target, NaN and JSON's null. */
function syntheticResult(peers: number, hostmesh: number): BenchResult {
  const targets = [
    'raw UDS',
    ...Array.from({ length: peers }, (_, i) => (i === 0 ? 'NestJS <TCP> & co' : `peer ${i}`)),
    ...Array.from({ length: hostmesh }, (_, i) => `hostmesh m${i}`),
  ];
  const failed = targets[1]!;
  const live = (size: number) => targets.filter((t) => !(t === failed && size === 1 << 20));
  const base = (t: string) => 10 + targets.indexOf(t) * 3;
  return {
    date: '2025-01-01T00:00:00.000Z',
    quick: true,
    pin: false,
    rounds: 3,
    load: '0.10 0.20 0.30',
    stealSeconds: 0,
    busy: false,
    targets,
    latency: SIZES.flatMap((size) =>
      live(size).map((target, i) => {
        const p50 = base(target) * (size > 4096 ? 40 : 1);
        return { target, size, p50, p90: p50 * 1.5, p99: i === 2 ? NaN : p50 * 3, p999: p50 * 9, spread: [p50 * 0.9, p50 * 1.1] as [number, number] };
      }),
    ),
    throughput: SIZES.flatMap((size) =>
      live(size).map((target, i) => ({
        target,
        size,
        inFlight: 64,
        rate: i === 1 ? (null as unknown as number) : 1e8 / base(target) / (size / 64),
        spread: [1, 2] as [number, number],
      })),
    ),
    events: targets.map((target, i) => ({ target, count: 300_000, rate: 2e5 + i * 1e4, lost: i === 1 ? 3 : 0, spread: [1.9e5, 2.1e5] as [number, number] })),
    cpu: targets.map((target, i) => ({
      target,
      serverMsPerKCall: 20 + i,
      clientMsPerKCall: 30 + i,
      idleServerPercent: i === 2 ? NaN : i * 0.1,
      idleSeconds: 5,
    })),
    sparse: [],
    sweep: {
      payload: targets.flatMap((target) =>
        [64, 1024, 65536, 1 << 20, 64 << 20].map((size, i) => ({ target, size, p50: i === 3 && target === failed ? NaN : base(target) * 2 ** i, rate: 1000 })),
      ),
      clients: targets.flatMap((target) => [1, 2, 4, 8].map((clients) => ({ target, clients, rate: 5e4 * clients, p50: 20 }))),
    },
    failures: [{ target: failed, reason: 'broke under 64 × 1 MiB' }],
    skipped: [],
  };
}

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;

/** Not an XML parser: enough to catch an unclosed or mis-nested element, or unescaped text. */
function balanced(svg: string): boolean {
  const tags = [...svg.matchAll(TAG)];
  // A '<' that starts no readable tag is a malformed tag or a '<' in text that escaping missed.
  if (tags.length !== (svg.match(/</g)?.length ?? 0)) return false;
  const open: string[] = [];
  for (const [, close, name, , selfClosing] of tags) {
    if (selfClosing) continue;
    if (!close) open.push(name!);
    else if (open.pop() !== name) return false;
  }
  return open.length === 0;
}

/** A legend entry: the whole name, escaped, then the end of its text or its "(no data)" mark. */
function legendEntry(name: string): RegExp {
  const literal = escapeXml(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`>${literal}( <tspan|<)`);
}

function logTicks(svg: string): number[] {
  return [...svg.matchAll(/data-axis="y" data-scale="log" data-value="([^"]+)"/g)].map((m) => Number(m[1]));
}

describe('writeCharts', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'bench-charts-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [2, 0, 1],
    [12, 3, 8],
  ])('writes well-formed charts naming all %i targets', (total, peers, hostmesh) => {
    const result = syntheticResult(peers, hostmesh);
    expect(result.targets).toHaveLength(total);
    const paths = writeCharts(result, dir);
    expect(paths.map((p) => basename(p)).sort()).toEqual(
      ['latency-64.svg', 'latency-4096.svg', 'latency-1048576.svg', 'throughput.svg', 'events.svg', 'cpu.svg', 'sweep-payload.svg', 'sweep-clients.svg'].sort(),
    );
    for (const path of paths) {
      expect(existsSync(path)).toBe(true);
      const svg = readFileSync(path, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
      expect(balanced(svg)).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      for (const target of result.targets) expect(svg).toMatch(legendEntry(target));
      expect(svg).not.toContain('NestJS <TCP>');
    }
  });

  it('puts value-axis ticks of log charts on powers of ten', () => {
    writeCharts(syntheticResult(3, 3), dir);
    for (const file of ['latency-64.svg', 'latency-1048576.svg', 'throughput.svg', 'sweep-payload.svg']) {
      const ticks = logTicks(readFileSync(join(dir, file), 'utf8'));
      expect(ticks.length).toBeGreaterThanOrEqual(2);
      for (const tick of ticks) expect(Math.abs(Math.log10(tick) - Math.round(Math.log10(tick)))).toBeLessThan(1e-9);
    }
  });

  it('notes lost events, targets without data, and leaves out the sweep when there was none', () => {
    const { sweep: _, ...result } = syntheticResult(2, 2);
    const paths = writeCharts(result, dir).map((p) => basename(p));
    expect(paths).not.toContain('sweep-payload.svg');
    expect(paths).not.toContain('sweep-clients.svg');
    expect(readFileSync(join(dir, 'events.svg'), 'utf8')).toContain('lost 3');
    const big = readFileSync(join(dir, 'latency-1048576.svg'), 'utf8');
    expect(big).toContain('NestJS &lt;TCP&gt; &amp; co <tspan fill="#999">(no data)</tspan>');
    expect(big).toContain('NestJS &lt;TCP&gt; &amp; co failed: broke under 64 × 1 MiB');
  });
});
