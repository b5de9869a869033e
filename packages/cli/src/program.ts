import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { describeError } from '@hostmesh/framework';
import { call } from './commands/call';
import { certs } from './commands/certs';
import { doctor } from './commands/doctor';
import { down } from './commands/down';
import { emit } from './commands/emit';
import { logs } from './commands/logs';
import { ps } from './commands/ps';
import { up } from './commands/up';
import { repl } from './repl/repl';
import { dashboard } from './commands/dashboard';
import { ManifestError } from './manifest/manifest-error';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}

function version(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Every command runs to an exit code; errors print one clear line, not a stack. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander passes each command's own argument types
function run<A extends any[]>(action: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await action(...args);
    } catch (error) {
      // Our own refusals speak for themselves; anything else shows its class and code.
      const plain = error instanceof ManifestError || (error instanceof Error && (error as { code?: unknown }).code === undefined);
      process.stderr.write(`hostmesh: ${plain ? (error as Error).message : describeError(error)}\n`);
      process.exitCode = 1;
    }
  };
}

export function program(): Command {
  const cli = new Command('hostmesh')
    .description('Deploy, watch and call co-located hostmesh services.')
    .version(version('@hostmesh/cli'), '-V, --version')
    .showHelpAfterError();
  const target = (command: Command) =>
    command
      .option('-n, --namespace <name>', 'namespace (default: the manifest\'s, then HOSTMESH_NAMESPACE, then "default")')
      .option('-f, --manifest <file>', 'manifest whose namespace to use (default: hostmesh.json here or in a parent directory)')
      .option('--runtime-dir <dir>', 'base of the runtime directory (default: HOSTMESH_RUNTIME_DIR, $XDG_RUNTIME_DIR/hostmesh or /tmp/hostmesh-<uid>)');

  cli
    .command('up')
    .description('start the services of a manifest, in dependency order, and watch them (Ctrl-C drains them)')
    .argument('[manifest]', 'hostmesh.json or hostmesh.config.ts', 'hostmesh.json')
    .option('-d, --detach', 'run in the background; stop with `hostmesh down`')
    .option('--keep-queues', 'on stop, keep the event queues (and events not yet delivered) for the next up')
    .option('--runtime-dir <dir>', 'base of the runtime directory')
    .option('--host <key>', "run as this key of the manifest's hosts: start the services placed here, reach the others over TCP (env HOSTMESH_HOST)")
    .option('--json', 'machine-readable output (no live view)')
    .option('-w, --watch', 'rebuild when sources change and restart the services whose code changed (the others keep serving)')
    .option('--build <command>', 'the build --watch runs (default: nx run-many -t build in an nx workspace, else tsc -b)')
    .option('--dashboard', 'also serve the live dashboard (its URL is printed)')
    .action(
      run(
        (
          manifest: string,
          options: { detach?: boolean; runtimeDir?: string; json?: boolean; host?: string; watch?: boolean; build?: string; dashboard?: boolean },
        ) => {
          // Through the environment, so a --detach'ed supervisor and every service see it too.
          if (options.host !== undefined) process.env.HOSTMESH_HOST = options.host;
          return up(manifest, options);
        },
      ),
    );

  target(cli.command('down').description('drain and stop the deployment of a namespace'))
    .option('--purge', 'also remove the durable event queues (and the events still in them)')
    .option('--json', 'machine-readable output')
    .action(run((options: Parameters<typeof down>[0]) => down(options)));

  target(cli.command('ps').description('list service instances: pid, state, uptime, restarts, in-flight, calls/s, latency, queues, mechanisms'))
    .option('--json', 'machine-readable output')
    .action(run((options: Parameters<typeof ps>[0]) => ps(options)));

  target(cli.command('logs').description('show (and with -F follow) what services printed'))
    .argument('[service]', 'only this service')
    .option('-F, --follow', 'keep printing new lines until Ctrl-C')
    .option('--lines <n>', 'lines of history per instance', integer, 50)
    .action(run((service: string | undefined, options: Parameters<typeof logs>[1]) => logs(service, options)));

  target(cli.command('call').description('call an endpoint: hostmesh call pricing.quote \'{"symbol":"ACME"}\''))
    .argument('<service.endpoint>', 'what to call')
    .argument('[json]', 'the argument, as JSON (or, with --args, the argument list)')
    .option('--args', 'the JSON is an array of arguments')
    .option('--timeout-ms <ms>', 'give up after this long', integer, 5000)
    .option('--json', 'compact output')
    .action(run((what: string, json: string | undefined, options: Parameters<typeof call>[2]) => call(what, json, options)));

  target(cli.command('emit').description('publish an event by name: hostmesh emit price.changed \'{"symbol":"ACME","price":1}\''))
    .argument('<event>', 'event name')
    .argument('<json>', 'the event, as a JSON object')
    .option('--priority <n>', 'message queue priority, 0-31', integer, 0)
    .option('--timeout-ms <ms>', 'wait this long for a full subscriber queue', integer, 5000)
    .action(run((event: string, json: string, options: Parameters<typeof emit>[2]) => emit(event, json, options)));

  target(cli.command('dashboard').description('a live page of the deployment on 127.0.0.1 (topology, calls/s, latency); prints its URL'))
    .option('--port <n>', 'port on 127.0.0.1 (default: any free one)', integer, 0)
    .action(run((options: Parameters<typeof dashboard>[0]) => dashboard(options)));

  target(cli.command('repl').description('an interactive shell on the deployment: call, emit, services, endpoints, subscribe, ps (Tab completes)')).action(
    run((options: Parameters<typeof repl>[0]) => repl(options)),
  );

  target(cli.command('doctor').description('check kernel limits and find what crashed processes left behind'))
    .option('--clean', 'remove objects of dead owners')
    .option('--json', 'machine-readable output')
    .action(run((options: Parameters<typeof doctor>[0]) => doctor(options)));

  cli
    .command('certs')
    .description('generate a development CA and a TLS certificate per host (for TCP + TLS between hosts; needs openssl)')
    .option('-o, --out <dir>', 'where to write ca.crt, ca.key and <host>.crt/.key (an existing CA there is reused)', 'hostmesh-certs')
    .option('--hosts <list>', 'name=ip[+ip|dns…],… (default: this hostname); 127.0.0.1 and localhost are always added')
    .option('--days <n>', 'validity in days', integer, 825)
    .option('--json', 'machine-readable output')
    .action(run((options: Parameters<typeof certs>[0]) => certs(options)));

  cli
    .command('version')
    .description('print the versions of hostmesh and node')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) => {
      const versions = {
        cli: version('@hostmesh/cli'),
        framework: version('@hostmesh/framework'),
        native: version('@hostmesh/native'),
        node: process.versions.node,
      };
      process.stdout.write(
        options.json
          ? JSON.stringify(versions) + '\n'
          : Object.entries(versions)
              .map(([k, v]) => `${k} ${v}`)
              .join('\n') + '\n',
      );
    });
  return cli;
}

/** Where the CLI package lives (for tests and tools that spawn it). */
export const CLI_ROOT = join(__dirname, '..');
