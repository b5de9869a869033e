import { type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator } from './init/generator';

/** A fresh nx workspace with `init` already run (namespace 'shop'), and a reader of its files. */
export async function hostmeshWorkspace(): Promise<{ tree: Tree; read(path: string): string }> {
  const tree = createTreeWithEmptyWorkspace();
  await initGenerator(tree, { skipInstall: true, namespace: 'shop' });
  return { tree, read: (path) => tree.read(path, 'utf-8')! };
}
