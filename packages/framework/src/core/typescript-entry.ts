import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The framework package's root: the same from `src/core` (tests) and `dist/core` (built). */
const PACKAGE_ROOT = resolve(__dirname, '..', '..');

/**
 * Node flags that let a child process run a TypeScript entry, compiled as the jest transform does.
 * The `hostmesh-source` condition points hostmesh's own imports at its TypeScript sources, which
 * only a checkout has: an installed package ships `dist`, and its children must keep resolving to it.
 */
export function typescriptExecArgv(): string[] {
  const flags = ['-r', join(PACKAGE_ROOT, 'register-ts.cjs')];
  if (existsSync(join(PACKAGE_ROOT, 'src', 'index.ts'))) flags.push('--conditions=hostmesh-source');
  return flags;
}
