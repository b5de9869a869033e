// This user's hostmesh kernel objects, for the test run's teardown (jest.global-teardown.js).
'use strict';
const { readdirSync } = require('node:fs');

function native() {
  try {
    return require('@hostmesh/native');
  } catch {
    return undefined; // not built yet (jest run without `tsc -b`): nothing to compare
  }
}

/** Names of this user's segments, doorbells and semaphores in /dev/shm, and of its queues where they can be listed. */
function kernelObjects() {
  const lib = native();
  if (!lib) return undefined;
  const prefix = lib.userPrefix();
  const found = readdirSync('/dev/shm')
    .filter((name) => name.startsWith(prefix) || name.startsWith(`sem.${prefix}`))
    .map((name) => `/dev/shm/${name}`);
  const queues = lib.listQueues();
  if (queues.ok) for (const queue of queues.queues) if (queue.name.startsWith(`/${prefix}`)) found.push(`mqueue ${queue.name}`);
  return new Set(found);
}

module.exports = { kernelObjects, native };
