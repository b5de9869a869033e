import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Relative module specifiers in compiled JavaScript: require('./x'), import … from './x', import('./x'). */
const RELATIVE = /(?:require\(\s*|from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
const EXTENSIONS = ['', '.js', '.cjs', '.mjs', '/index.js'];
/** A service's own code, not a whole tree: past this many files the hash covers what was read. */
const MAX_FILES = 5000;

/**
 * A hash of what a service runs: its entry file and every file it reaches through relative
 * imports, transitively (packages from node_modules are not followed: a rebuild does not
 * change them). Two services sharing a dist folder differ where their imports do, so a
 * change to one service's code restarts that service only.
 */
export function outputFingerprint(entry: string): string {
  const hash = createHash('sha256');
  const seen = new Set<string>();
  const pending = [resolve(entry)];
  while (pending.length > 0 && seen.size < MAX_FILES) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch {
      hash.update(`${file}\0missing\0`);
      continue;
    }
    hash.update(`${file}\0${source}\0`);
    for (const match of source.matchAll(RELATIVE)) {
      const target = resolveModule(resolve(dirname(file), match[1]!));
      if (target && !seen.has(target)) pending.push(target);
    }
  }
  return hash.digest('hex');
}

function resolveModule(base: string): string | undefined {
  for (const extension of EXTENSIONS) {
    const candidate = base + extension;
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}
