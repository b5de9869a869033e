import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The quick run end to end, with its real partner process and segment: that every row is
// there with a number in each column, and that nothing is left behind. Never how fast.
const SCRIPT = join(__dirname, '..', '..', 'dist', 'micro', 'shared-copy.js');
const RUN_LIMIT_MS = 120_000;

describe('node tools/bench/dist/micro/shared-copy.js --quick', () => {
  it(
    'prints one row per size with each way timed, and leaves no segment or partner behind',
    async () => {
      const child = spawn(process.execPath, [SCRIPT, '--quick'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(limit);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const rows = stdout
        .split('\n')
        .map((line) => /^(\d+ [KM]iB)\s+(shared|own memory)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)×$/.exec(line))
        .filter((match) => match !== null)
        .map((match) => [match[1], match[2]]);
      expect(rows).toEqual([
        ['512 KiB', 'shared'],
        ['1 MiB', 'shared'],
        ['2 MiB', 'shared'],
        ['4 MiB', 'shared'],
        ['8 MiB', 'shared'],
        ['1 MiB', 'own memory'],
      ]);
      expect(readdirSync('/dev/shm').filter((name) => name.includes(`.bench.copy.${child.pid}.`))).toEqual([]);
      // Its partners were started with its pid on their command line; none may outlive it.
      const partners = readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`.bench.copy.${child.pid}.`);
          } catch {
            return false;
          }
        });
      expect(partners).toEqual([]);
    },
    RUN_LIMIT_MS + 10_000,
  );
});
