import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startChild } from './children';
import type { Sweep } from './result';
import { median } from './stats';
import type { BenchTarget } from './targets';
import { pipelined, sequential } from './workloads';

/** How a sweep client process reaches a target: the argv of sweep-client.child. */
export interface SweepPeer {
  target: BenchTarget;
  clientArgs: string[];
}

/**
 * Payload growing from 64 B to 64 MiB, one client: p50 of sequential round trips and the
 * rate with 8 calls in flight. Fewer calls at large sizes keep it bounded (~1 GiB per size).
 */
export async function payloadSweep(peers: SweepPeer[], sizes: number[], quick: boolean): Promise<Sweep['payload']> {
  const rows: Sweep['payload'] = [];
  for (const size of sizes) {
    const payload = Buffer.alloc(size, 5);
    const calls = Math.max(4, Math.min(quick ? 300 : 3000, Math.floor(((quick ? 64 : 512) * 2 ** 20) / size)));
    const summaries = await sequential(
      peers.map((peer) => peer.target),
      payload,
      calls,
      calls,
    );
    for (const [i, peer] of peers.entries()) {
      const rate = await pipelined(peer.target, payload, 8, calls);
      rows.push({ target: peer.target.name, size, p50: summaries[i]!.p50, rate });
    }
  }
  return rows;
}

/** 1 → 8 client processes against one server, each with `inFlight` (16) calls of 64 B in flight. */
export async function clientSweep(peers: SweepPeer[], counts: number[], durationMs: number, inFlight = 16, cpu = '1'): Promise<Sweep['clients']> {
  const rows: Sweep['clients'] = [];
  for (const peer of peers) {
    for (const clients of counts) {
      const started: ChildProcess[] = await Promise.all(
        Array.from({ length: clients }, () => startChild('sweep-client.child', [...peer.clientArgs, String(inFlight), String(durationMs)], {}, 'pipe', cpu)),
      );
      const reports = started.map(
        (child) =>
          new Promise<{ calls: number; seconds: number; p50: number }>((resolve, reject) => {
            createInterface({ input: child.stdout! }).on('line', (line) => {
              if (line.startsWith('{')) resolve(JSON.parse(line) as { calls: number; seconds: number; p50: number });
            });
            child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`sweep client exited with ${code}`))));
          }),
      );
      for (const child of started) child.stdin!.write('go\n');
      const results = await Promise.all(reports);
      rows.push({
        target: peer.target.name,
        clients,
        rate: results.reduce((sum, r) => sum + r.calls / r.seconds, 0),
        p50: median(results.map((r) => r.p50)),
      });
    }
  }
  return rows;
}

/**
 * 64 calls of 64 B in flight from one fresh client process per run, `runs` runs per target
 * (targets alternating): the rate without what other targets left in a shared client.
 */
export async function isolatedPipelined(peers: SweepPeer[], runs: number, durationMs: number): Promise<NonNullable<Sweep['isolated']>> {
  const byTarget = new Map<string, Sweep['clients']>(peers.map((peer) => [peer.target.name, []]));
  for (let run = 0; run < runs; run++) {
    // With --pin the client runs on the client's CPU (0), as the in-process rows' client does.
    for (const peer of run % 2 === 0 ? peers : [...peers].reverse())
      byTarget.get(peer.target.name)!.push(...(await clientSweep([peer], [1], durationMs, 64, '0')));
  }
  return [...byTarget].map(([target, rows]) => ({
    target,
    rate: median(rows.map((row) => row.rate)),
    p50: median(rows.map((row) => row.p50)),
    runs: rows.map((row) => row.rate),
  }));
}
