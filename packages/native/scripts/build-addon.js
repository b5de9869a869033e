#!/usr/bin/env node
// Builds the addon from source with node-gyp, against the headers of the node that runs
// this script (its own prefix holds include/node), so no download and no network.
// Runs as the package's `install` script: npm install / npm ci build it on every machine.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const nodedir = path.resolve(process.execPath, '..', '..');
const addon = path.join(root, 'build', 'Release', 'hostmesh_native.node');

if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
  console.error(
    `@hostmesh/native: no Node headers under ${nodedir}/include/node.\n` +
      'Install the headers that match this node (e.g. the nodejs-dev / node headers package) and run `npm rebuild @hostmesh/native`.',
  );
  process.exit(1);
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', `--nodedir=${nodedir}`, '--release', `--jobs=${require('node:os').availableParallelism()}`];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0 || !existsSync(addon)) {
  console.error('@hostmesh/native: the native build failed (see above). It needs python3, make and g++; then run `npm rebuild @hostmesh/native`.');
  process.exit(result.status || 1);
}
