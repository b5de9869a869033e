/**
 * Fuzzes what a hostile peer or shell can reach, in process, with fast-check:
 *
 *   npm run fuzz                          1 000 000 inputs per target
 *   npm run fuzz -- --runs 50000          fewer
 *   npm run fuzz -- --seed 42             another sequence (the seed is printed either way)
 *   npm run fuzz -- --targets ring-reader,fifo-line
 *
 * Per target it prints the inputs tried, the typed errors by class, and the crashes: any
 * other exception or a broken invariant (out-of-bounds range, runaway loop). Exits 1 on a crash.
 */
import { allTargets, fuzz } from './run';

const USAGE = 'usage: npm run fuzz -- [--runs N] [--seed S] [--targets a,b]';

function parseArgs(argv: string[]): { runs: number; seed: number; targets: string[] | null } {
  const options = { runs: 1_000_000, seed: Date.now() % 2 ** 31, targets: null as string[] | null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    i++;
    if (flag === '--runs' || flag === '--seed') {
      const number = Number(value.replaceAll('_', ''));
      if (!Number.isSafeInteger(number) || number < (flag === '--runs' ? 1 : 0)) throw new Error(`${flag} must be a whole number, got ${value}`);
      options[flag === '--runs' ? 'runs' : 'seed'] = number;
    } else if (flag === '--targets') {
      options.targets = value.split(',');
    } else {
      throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return options;
}

function main(): number {
  const { runs, seed, targets: only } = parseArgs(process.argv.slice(2));
  const { targets, close } = allTargets();
  const unknown = only?.filter((name) => !targets.some((target) => target.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')} (targets: ${targets.map((t) => t.name).join(', ')})`);
  console.log(`fuzz: ${runs.toLocaleString('en')} inputs per target, seed ${seed}`);
  let crashes = 0;
  try {
    for (const target of targets) {
      if (only && !only.includes(target.name)) continue;
      const started = performance.now();
      const outcome = fuzz(target, runs, seed);
      const seconds = (performance.now() - started) / 1000;
      const typed = [...outcome.typed].map(([name, count]) => `${name} ${count.toLocaleString('en')}`).join(', ') || 'none';
      console.log(
        `${target.name.padEnd(20)} inputs ${outcome.tried.toLocaleString('en')}  clean ${outcome.clean.toLocaleString('en')}  ` +
          `typed errors: ${typed}  crashes ${outcome.crashes}  ${seconds.toFixed(1)} s`,
      );
      for (const sample of outcome.samples) console.log(`    crash: ${sample}`);
      crashes += outcome.crashes;
    }
  } finally {
    close();
  }
  console.log(crashes === 0 ? 'fuzz: no crashes' : `fuzz: ${crashes} crashes (rerun with --seed ${seed} to reproduce)`);
  return crashes === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`fuzz: ${(error as Error).message}`);
  process.exitCode = 2;
}
