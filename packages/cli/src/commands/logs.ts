import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeOf, type TargetOptions } from './context';

/** `hostmesh logs [-f] [service]`: the files the supervisor writes, each line prefixed. */
export async function logs(service: string | undefined, options: TargetOptions & { follow?: boolean; lines?: number }): Promise<number> {
  const dir = join(runtimeOf(options).root, 'logs');
  const files = existsSync(dir)
    ? readdirSync(dir).filter((name) => name.endsWith('.log') && (!service || name.startsWith(`${service}@`) || name === `${service}.log`))
    : [];
  if (files.length === 0) {
    process.stderr.write(`no logs${service ? ` of '${service}'` : ''} in ${dir}\n`);
    return service ? 1 : 0;
  }
  const offsets = new Map<string, number>();
  const emit = (name: string, text: string) => {
    const label = name.replace(/\.log$/, '').padEnd(12);
    for (const line of text.split('\n')) if (line) process.stdout.write(`${label} | ${line}\n`);
  };
  const tail = options.lines ?? 50;
  for (const name of files) {
    const path = join(dir, name);
    const size = statSync(path).size;
    const text = readRange(path, Math.max(0, size - 64 * 1024), size);
    emit(
      name,
      text
        .split('\n')
        .slice(-tail - 1)
        .join('\n'),
    );
    offsets.set(name, size);
  }
  if (!options.follow) return 0;
  await new Promise<void>((resolve) => {
    // Ctrl-C (or a TERM) ends the follow: the timer goes too, or it would keep the process alive.
    const stop = () => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const timer = setInterval(() => {
      for (const name of files) {
        const path = join(dir, name);
        const size = statSync(path).size;
        const from = offsets.get(name)!;
        if (size > from) {
          emit(name, readRange(path, from, size));
          offsets.set(name, size);
        }
      }
    }, 200);
  });
  return 0;
}

function readRange(path: string, from: number, to: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    readSync(fd, buffer, 0, buffer.length, from);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
