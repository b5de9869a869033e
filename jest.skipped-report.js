// A jest reporter that ends the run with one line naming every test that did not run. Only
// tests that need root are ever skipped (network namespaces, other uids, a private mount of
// the mqueue filesystem), so a non-root user is told which ones and why; a skip that shows
// up as root is a bug made visible rather than a failure hidden.
'use strict';
const { relative } = require('node:path');

class SkippedReport {
  constructor(globalConfig) {
    this.root = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const files = new Map();
    for (const file of results.testResults) {
      const skipped = file.testResults.filter((test) => test.status === 'pending' || test.status === 'skipped' || test.status === 'todo').length;
      if (skipped) files.set(relative(this.root, file.testFilePath), skipped);
    }
    if (files.size === 0) return;
    const count = [...files.values()].reduce((sum, n) => sum + n, 0);
    const list = [...files].map(([file, n]) => `${file} (${n})`).join(', ');
    const uid = process.getuid?.();
    const why =
      uid === 0 ? '' : ` because they need root (network namespaces, other uids, mounts) and this runs as uid ${uid}: run npm test as root to include them`;
    process.stderr.write(`Not run: ${count} tests${why}: ${list}\n`);
  }
}

module.exports = SkippedReport;
