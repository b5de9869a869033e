import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Template folders live in the package's src/ (shipped with it), so generators find them the
 * same way whether they run from sources (tests) or from dist/.
 */
export function templateDir(generator: string, folder = 'files'): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the @hostmesh/framework package root');
    dir = parent;
  }
  return join(dir, 'src', 'generators', generator, folder);
}
