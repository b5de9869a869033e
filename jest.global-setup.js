// Runs once before any test (jest's globalSetup): makes sure the programs the tests drive
// for real, which no npm package provides, are on this machine. On Debian as root it
// installs what is missing with apt-get; anywhere else it stops the run at once with one
// line naming the packages, rather than letting dozens of tests fail one by one.
// docs/development.md lists every piece of machine state the tests need.
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants, existsSync } = require('node:fs');
const { delimiter, join } = require('node:path');

/** Debian package → the program the tests run from it, and who runs it. */
const TOOLS = [
  { pkg: 'nats-server', program: 'nats-server', env: 'HOSTMESH_NATS_SERVER_BIN', usedBy: 'the NATS transport and discovery tests' },
  { pkg: 'iproute2', program: 'ip', usedBy: 'the cross-host tests in network namespaces' },
  { pkg: 'openssl', program: 'openssl', usedBy: 'hostmesh certs and the TLS tests' },
  { pkg: 'util-linux', program: 'unshare', usedBy: 'listing message queues without /dev/mqueue' },
  { pkg: 'bsdutils', program: 'script', usedBy: 'the REPL test (a pseudo-terminal)' },
  { pkg: 'chromium', program: 'chromium', usedBy: 'the dashboard test (a real headless browser)' },
  // Debian's own python3 (the one python3-msgpack installs into), whatever python3 comes first on PATH.
  {
    pkg: 'python3-msgpack',
    program: 'msgpack for /usr/bin/python3',
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import msgpack']).status === 0,
    usedBy: 'the Python client test, clients/python',
  },
];

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function onPath(program) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH];
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function missingTools() {
  return TOOLS.filter((tool) => !(tool.env && process.env[tool.env]) && !(tool.present ? tool.present() : onPath(tool.program)));
}

function stop(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

function apt(args) {
  return spawnSync('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', timeout: 600_000 });
}

module.exports = function globalSetup() {
  ensureTestTools();
  // What exists before the run, so the teardown can name what the tests left behind.
  globalThis.__hostmeshObjectsBefore = require('./jest.kernel-objects.js').kernelObjects();
};

function ensureTestTools() {
  const missing = missingTools();
  if (missing.length === 0) return;
  const packages = missing.map((tool) => tool.pkg);
  const what = missing.map((tool) => `${tool.program} (${tool.usedBy})`).join(', ');
  const debian = existsSync('/etc/debian_version') && onPath('apt-get');
  if (!debian || process.getuid?.() !== 0) {
    const how = debian ? `with \`sudo apt-get install -y ${packages.join(' ')}\`` : `from your system's packages (${packages.join(', ')})`;
    stop(`npm test needs ${what}, not installed here. Install ${missing.length > 1 ? 'them' : 'it'} ${how}, then run npm test again.`);
  }
  process.stderr.write(`npm test: installing what the tests drive: ${what} (apt-get install ${packages.join(' ')})\n`);
  const update = apt(['update', '-qq']);
  const install = update.status === 0 ? apt(['install', '-y', '-qq', '--no-install-recommends', ...packages]) : update;
  const still = missingTools();
  if (install.status !== 0 || still.length) {
    const why = (install.error?.message ?? install.stderr ?? '').trim().split('\n').pop();
    stop(
      `npm test: apt-get install ${packages.join(' ')} failed (${why || `exit ${install.status}`}); install ${still.map((tool) => tool.pkg).join(' ') || packages.join(' ')} by hand, then run npm test again.`,
    );
  }
}
