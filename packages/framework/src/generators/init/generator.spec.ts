import { readJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { serviceGenerator } from '../service/generator';
import { initGenerator } from './generator';
import { hostmeshWorkspace } from '../workspace.testing';

describe('nx g @hostmesh/framework:init', () => {
  let tree: Tree;
  let read: (path: string) => string;
  beforeEach(async () => {
    ({ tree, read } = await hostmeshWorkspace());
  });

  it('adds dependencies, decorator options, a jest preset, the contracts library and an empty manifest', () => {
    const pkg = readJson(tree, 'package.json');
    expect(pkg.dependencies).toMatchObject({ '@hostmesh/framework': '0.1.0', '@hostmesh/native': '0.1.0', 'reflect-metadata': '0.2.2' });
    expect(pkg.devDependencies).toMatchObject({ '@hostmesh/cli': '0.1.0', typescript: '5.9.3', '@swc/jest': '0.2.39' });
    expect(readJson(tree, 'tsconfig.base.json').compilerOptions).toMatchObject({
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      useDefineForClassFields: false,
    });
    expect(readJson(tree, 'hostmesh.json')).toEqual({
      $schema: './node_modules/@hostmesh/cli/src/manifest/hostmesh.schema.json',
      namespace: 'shop',
      services: {},
    });
    expect(read('jest.hostmesh.js')).toContain('legacyDecorator: true');
    expect(readJson(tree, 'libs/contracts/project.json')).toMatchObject({ name: 'contracts', projectType: 'library' });
  });

  it('keeps the dependency specs the workspace has (file: links, tarballs) and adds the missing ones', async () => {
    const fresh = { tree: createTreeWithEmptyWorkspace() };
    fresh.tree.write(
      'package.json',
      JSON.stringify({
        name: 'shop',
        dependencies: { '@hostmesh/framework': 'file:../hostmesh/packages/framework' },
        devDependencies: { '@hostmesh/cli': 'file:hostmesh-cli-0.1.0.tgz', typescript: '5.9.3' },
      }),
    );
    await initGenerator(fresh.tree, { skipInstall: true });
    const pkg = readJson(fresh.tree, 'package.json');
    expect(pkg.dependencies).toEqual({
      '@hostmesh/framework': 'file:../hostmesh/packages/framework',
      '@hostmesh/native': '0.1.0',
      'reflect-metadata': '0.2.2',
    });
    expect(pkg.devDependencies).toMatchObject({ '@hostmesh/cli': 'file:hostmesh-cli-0.1.0.tgz', typescript: '5.9.3', jest: '30.5.2' });
  });

  it('keeps an existing manifest when run again', async () => {
    await serviceGenerator(tree, { name: 'pricing' });
    await initGenerator(tree, { skipInstall: true });
    expect(Object.keys(readJson(tree, 'hostmesh.json').services)).toEqual(['pricing']);
  });

  it('refuses to run outside an nx workspace', async () => {
    tree.delete('nx.json');
    await expect(initGenerator(tree, { skipInstall: true })).rejects.toThrow('no nx workspace here: nx.json is missing');
  });

  it("refuses hostmesh's own repository, saying where to try the generators instead", async () => {
    const repository = await hostmeshWorkspace();
    repository.tree.write('package.json', JSON.stringify({ name: 'hostmesh', private: true }));
    repository.tree.write('packages/framework/generators.json', '{}');
    await expect(initGenerator(repository.tree, { skipInstall: true })).rejects.toThrow("this is hostmesh's own repository, not a workspace of services");
    await expect(serviceGenerator(repository.tree, { name: 'probe' })).rejects.toThrow('npm install -D nx@23.2.1');
    expect(repository.tree.exists('services/probe')).toBe(false);
  });
});
