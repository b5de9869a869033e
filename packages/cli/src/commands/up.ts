import { RuntimeDir } from '@hostmesh/framework';
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadManifest } from '../manifest/load-manifest';
import { statusTable } from '../output/status-table';
import { styler } from '../output/style';
import { describeFailure, Supervisor } from '../supervisor/supervisor';
import type { InstanceStatus } from '../supervisor/state';
import { readState } from '../supervisor/state-file';
import { Rebuilder } from '../watch/rebuilder';
import { watchDeployment } from '../watch/watch-deployment';
import { DashboardServer } from '../dashboard/dashboard-server';

export interface UpOptions {
  detach?: boolean;
  keepQueues?: boolean;
  runtimeDir?: string;
  json?: boolean;
  /** Rebuild on source changes and restart the services whose code changed. */
  watch?: boolean;
  /** Also serve the dashboard (foreground only). */
  dashboard?: boolean;
  /** The build command for --watch (default: nx run-many -t build in an nx workspace, else tsc -b). */
  build?: string;
}

/**
 * `hostmesh up [manifest]`: runs the deployment in the foreground with a live status view
 * (on a terminal; plain prefixed lines otherwise) until Ctrl-C, which drains it; or,
 * with --detach, in the background (logs in <runtime>/<namespace>/logs).
 */
export async function up(manifestPath: string, options: UpOptions): Promise<number> {
  if (options.dashboard && options.detach)
    throw new Error('--dashboard runs with the supervisor in the foreground: leave out --detach, or run `hostmesh dashboard` beside it');
  const build = options.watch ? await firstBuild(manifestPath, options) : undefined;
  if (build === null) return 1;
  const deployment = loadManifest(manifestPath);
  if (options.detach) return detach(manifestPath, deployment.namespace, options);
  const out = process.stdout;
  const style = styler(out);
  const live = out.isTTY === true && !options.json;
  let lastView = '';
  /** Shown in the live view's footer: a line printed once would be cleared by its next redraw. */
  let dashboardUrl: string | undefined;
  // Whoever reads our output may go first (`npm start | cat` and Ctrl-C: cat dies with us):
  // a broken pipe ends the writing, never the drain (services' lines are in their log files too).
  const closed = new Set<NodeJS.WriteStream>();
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      closed.add(stream);
    });
  }
  const write = (stream: NodeJS.WriteStream, text: string) => {
    if (!closed.has(stream) && !stream.destroyed) stream.write(text);
  };
  const supervisor = new Supervisor(
    deployment,
    options.runtimeDir,
    {
      log: (line, source, stream) => {
        if (live && source !== undefined) return; // services' output: in the log files, view shows state
        const prefix = source === undefined ? style.cyan('hostmesh') : style.dim(source.padEnd(12));
        write(stream === 'err' ? process.stderr : out, `${prefix} | ${line}\n`);
      },
      changed: (state) => {
        if (!live) return;
        const view = statusTable(state.instances, out);
        if (view === lastView) return;
        lastView = view;
        write(
          out,
          `\x1b[2J\x1b[H${style.bold(`hostmesh up: ${deployment.file}`)} (namespace ${deployment.namespace}, ${state.state}) — Ctrl-C to stop\n\n${view}\n\nlogs: hostmesh logs -F${dashboardUrl ? `\ndashboard: ${dashboardUrl}` : ''}\n`,
        );
      },
    },
    { keepQueues: options.keepQueues },
  );
  supervisor.claim();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      process.stderr.write('second signal: exiting now\n');
      process.exit(130);
    }
    void supervisor.stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await supervisor.start();
  const note = (line: string, stream: 'out' | 'err' = 'out') => write(stream === 'err' ? process.stderr : out, `${style.cyan('hostmesh')} | ${line}\n`);
  const watcher = build ? watchDeployment(supervisor, deployment, build, note) : undefined;
  const page = options.dashboard ? await DashboardServer.listen({ namespace: deployment.namespace, runtimeDir: options.runtimeDir }) : undefined;
  if (page) {
    dashboardUrl = page.url;
    note(`dashboard: ${page.url}`);
  }
  await supervisor.stopped;
  await watcher?.close();
  await page?.close();
  // A service given up on makes the whole run a failure, even though the others kept serving.
  const failures = supervisor.failures();
  for (const failure of failures) process.stderr.write(`hostmesh: ${failure}\n`);
  return failures.length > 0 ? 1 : 0;
}

/** Starts `hostmesh up` again as a session leader in the background and waits for it to run. */
async function detach(manifestPath: string, namespace: string, options: UpOptions): Promise<number> {
  const dir = RuntimeDir.open(options.runtimeDir, namespace);
  const existing = readState(dir);
  if (existing) throw new Error(`a deployment is already running in namespace '${namespace}' (supervisor pid ${existing.pid})`);
  const log = openSync(join(dir.root, 'supervisor.log'), 'a', 0o600);
  const args = [...(options.runtimeDir ? ['--runtime-dir', options.runtimeDir] : []), ...(options.keepQueues ? ['--keep-queues'] : [])];
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'up', manifestPath, ...args], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, NO_COLOR: '1' },
  });
  child.unref();
  for (let i = 0; i < 600; i++) {
    const state = readState(dir);
    if (state?.state === 'running') {
      const failed = state.instances.filter((instance) => instance.state === 'failed');
      if (failed.length > 0) return giveUp(state.pid, dir, failed);
      process.stdout.write(
        options.json
          ? JSON.stringify({ pid: state.pid, namespace }) + '\n'
          : `hostmesh is running in the background (pid ${state.pid}); \`hostmesh ps\`, \`hostmesh down\`\n`,
      );
      return 0;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the background supervisor did not start; see ${join(dir.root, 'supervisor.log')}`);
}

/** A service did not start: stop what did (nothing half-up stays behind), say why, fail. */
async function giveUp(pid: number, dir: RuntimeDir, failed: InstanceStatus[]): Promise<number> {
  for (const instance of failed) process.stderr.write(`hostmesh: ${describeFailure(instance)}\n`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 600 && readState(dir); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  process.stderr.write(`hostmesh: the deployment was stopped; its log: ${join(dir.root, 'supervisor.log')}\n`);
  return 1;
}

/** --watch builds first (the entries must exist); a failed first build is shown and ends `up`. Null: it failed. */
async function firstBuild(manifestPath: string, options: UpOptions): Promise<{ root: string; command: string } | null> {
  if (options.detach) throw new Error('--watch runs in the foreground: leave out --detach');
  const root = dirname(resolve(manifestPath));
  const command = options.build ?? Rebuilder.defaultCommand(root);
  if (!command) throw new Error(`--watch: no nx.json above ${root} and no tsconfig.json in it: give the build command with --build '<command>'`);
  process.stdout.write(`hostmesh | building: ${command}\n`);
  const result = await new Rebuilder(root, command, async () => undefined).run();
  if (result.ok) return { root, command };
  process.stderr.write(`hostmesh: the build failed (${command}):\n${result.output}\n`);
  return null;
}
