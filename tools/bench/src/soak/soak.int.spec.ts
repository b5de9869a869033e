import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoakResult } from './main';

// A short slice of `npm run soak`: real services on every mechanism, client processes that
// reconnect every few seconds, random payloads up to 1 MiB. The soak's checks are the point:
// every reply matched, every event arrived, no object left behind.
const MAIN = join(__dirname, '..', '..', 'dist', 'soak', 'main.js');
const MECHANISMS = ['uds', 'tcp', 'tls', 'shm', 'fifo', 'mqueue', 'nats'];

describe('npm run soak -- --seconds 6', () => {
  const out = mkdtempSync(join(tmpdir(), 'hm-soak-test-'));
  let result: SoakResult;
  let stdout = '';
  let code: number | null;
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  beforeAll(async () => {
    const child = spawn(process.execPath, [MAIN, '--seconds', '6', '--clients', '1', '--json', join(out, 'soak.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    try {
      result = JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8')) as SoakResult;
    } catch {
      throw new Error(`soak exited with ${code} and wrote no result:\n${stdout}\n${stderr}`);
    }
  }, 90_000);

  it('passes, saying so', () => {
    expect(result.failures).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/soak passed in \d+ s/);
  });

  it('completed calls on every mechanism, each reply matching its request', () => {
    expect(result.rows.map((row) => row.mechanism)).toEqual(MECHANISMS);
    for (const row of result.rows) {
      expect({ mechanism: row.mechanism, calls: row.calls > 0, mismatches: row.mismatches, errors: row.errors }).toEqual({
        mechanism: row.mechanism,
        calls: true,
        mismatches: 0,
        errors: {},
      });
    }
  });

  it('delivered every event it sent, and reconnected along the way', () => {
    for (const row of result.rows) {
      expect(row.eventsSent).toBeGreaterThan(0);
      expect(row.eventsReceived).toBe(row.eventsSent);
      expect(row.reconnects).toBeGreaterThanOrEqual(2);
    }
  });

  it('left no kernel object or socket file behind', () => {
    expect(result.leaked).toEqual([]);
  });
});
