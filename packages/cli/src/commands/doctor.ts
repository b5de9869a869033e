import { existsSync, lstatSync, readdirSync, readFileSync, statfsSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { resolveConfig, RuntimeDir } from '@hostmesh/framework';
import { findStaleObjects, isProcessAlive, listQueues, MessageQueue, native, PosixError, removeStaleObjects, userPrefix } from '@hostmesh/native';
import { namespaceObjects, namespacesUnder, type NamespaceObject } from '../supervisor/namespace-objects';
import { readDeadState } from '../supervisor/orphans';
import { styler, table } from '../output/style';
import { readState } from '../supervisor/state-file';
import { meshOf, runtimeOf, type TargetOptions } from './context';

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

/**
 * `hostmesh doctor [--clean]`: what the kernel allows (/dev/shm, message queue limits,
 * semaphores, pidfd) and what was left behind (segments and doorbells of dead owners,
 * descriptors of dead services, stale socket files). --clean removes the leftovers.
 */
export async function doctor(options: TargetOptions & { clean?: boolean; json?: boolean }): Promise<number> {
  const checks: Check[] = [];
  const dir = runtimeOf(options);

  const shm = statfsSync('/dev/shm');
  const total = shm.blocks * shm.bsize;
  const free = shm.bavail * shm.bsize;
  checks.push({
    check: '/dev/shm',
    status: free < 64 * 2 ** 20 ? 'warn' : 'ok',
    detail: `${mib(free)} free of ${mib(total)} (rings take 2 × shm.ringBytes per connection; large-payload pools up to 2 × shm.poolBytes, as payloads reach them)`,
  });

  const limits = MessageQueue.limits();
  const rlimit = readLimit('Max msgqueue size');
  checks.push({
    check: 'message queues',
    status: limits.msgMax === undefined ? 'fail' : 'ok',
    detail: `fs.mqueue.msg_max=${limits.msgMax} (queue depth), msgsize_max=${limits.msgsizeMax}, queues_max=${limits.queuesMax}, RLIMIT_MSGQUEUE=${rlimit} bytes per user`,
  });
  const listing = listQueues();
  const queues = listing.ok ? listing.queues.filter((queue) => queue.name.startsWith(`/${userPrefix()}`)).map((queue) => queue.name) : [];
  checks.push({
    check: 'event queues',
    status: 'ok',
    detail: listing.ok ? `${queues.length} of this user: ${queues.join(', ') || 'none'}` : `cannot be listed: ${listing.reason}`,
  });
  const sem = readFileSync('/proc/sys/kernel/sem', 'utf8').trim().split(/\s+/);
  checks.push({
    check: 'semaphores',
    status: 'ok',
    detail: `named POSIX semaphores live in /dev/shm; SysV limits (SEMMSL SEMMNS SEMOPM SEMMNI) ${sem.join(' ')}`,
  });
  checks.push(pidfdCheck());
  checks.push(limitsCheck());

  const stale = findStaleObjects();
  const mesh = meshOf(options);
  const deadDescriptors = await mesh.registry.staleDescriptors();
  const staleSockets = await findStaleSockets(join(dir.root, 'sock'));
  const supervisor = readState(dir);
  await mesh.close(0);
  checks.push({
    check: 'supervisor',
    status: 'ok',
    detail: supervisor ? `pid ${supervisor.pid} runs ${supervisor.manifest}` : `none in namespace '${dir.namespace}'`,
  });
  const leftovers = [
    ...stale.map((o) => `${o.path} (${o.reason})`),
    ...deadDescriptors.map((d) => `${d} (owner dead)`),
    ...staleSockets.map((s) => `${s} (nobody listens)`),
  ];
  checks.push({ check: 'leftovers', status: leftovers.length ? 'warn' : 'ok', detail: leftovers.length ? leftovers.join('; ') : 'none' });
  const deployments = namespacesUnder(dir.base).map((namespace) => deploymentCheck(new RuntimeDir(dir.base, namespace)));
  checks.push(...deployments.map((deployment) => deployment.check));

  let removed: string[] = [];
  if (options.clean) {
    removed = [...removeStaleObjects().map((o) => o.path), ...(await reclaimDescriptors(options)), ...staleSockets.filter(unlinkQuietly)];
  }

  if (options.json) {
    const objects = Object.fromEntries(deployments.map((deployment) => [deployment.namespace, deployment.objects]));
    process.stdout.write(JSON.stringify({ namespace: dir.namespace, checks, objects, removed }, null, 2) + '\n');
  } else {
    const style = styler(process.stdout);
    const mark = (status: Check['status']) => (status === 'ok' ? style.green('ok') : status === 'warn' ? style.yellow('warn') : style.red('FAIL'));
    process.stdout.write(
      `${table(
        ['CHECK', 'STATUS', 'DETAIL'],
        checks.map((c) => [c.check, mark(c.status), c.detail]),
      )}\n`,
    );
    if (options.clean) process.stdout.write(removed.length ? `removed ${removed.length}: ${removed.join(', ')}\n` : 'nothing to remove\n');
    else if (leftovers.length) process.stdout.write('run `hostmesh doctor --clean` to remove the leftovers\n');
  }
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function readLimit(name: string): string {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  return line ? line.slice(name.length).trim().split(/\s+/)[0]! : 'unknown';
}

/** The framework's own limits as this environment resolves them (HOSTMESH_* variables), and the fd limit they live under. */
function limitsCheck(): Check {
  try {
    const config = resolveConfig({}, process.env);
    const files = readLimit('Max open files');
    return {
      check: 'limits',
      status: 'ok',
      detail:
        `maxPayloadBytes=${config.maxPayloadBytes}, maxConnections=${config.maxConnections} per service, ` +
        `maxInFlightPerConnection=${config.maxInFlightPerConnection}, maxPendingCalls=${config.maxPendingCalls} per client, ` +
        `maxBufferedBytes=${config.maxBufferedBytes}, idleTimeoutMs=${config.idleTimeoutMs}, minFrameBytesPerSecond=${config.minFrameBytesPerSecond}, ` +
        `mqueue depth=${config.transports.mqueue?.depth} × ${config.transports.mqueue?.messageSize} B, shm.ringBytes=${config.transports.shm?.ringBytes}, ` +
        `RLIMIT_NOFILE=${files} (every connection holds a socket; shm and fifo connections also hold their FIFO fds)`,
    };
  } catch (error) {
    return { check: 'limits', status: 'fail', detail: (error as Error).message };
  }
}

function pidfdCheck(): Check {
  try {
    native.closeFd(native.pidfdOpen(process.pid));
    return { check: 'pidfd', status: 'ok', detail: 'process exits are events (pidfd_open)' };
  } catch (error) {
    const code = PosixError.is(error) ? error.code : String(error);
    return { check: 'pidfd', status: 'warn', detail: `unavailable (${code}): process watches poll /proc instead` };
  }
}

async function findStaleSockets(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const stale: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!lstatSync(path).isSocket()) continue;
    const accepts = await new Promise<boolean>((resolve) => {
      const probe = connect(path);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (!accepts) stale.push(path);
  }
  return stale;
}

async function reclaimDescriptors(options: TargetOptions): Promise<string[]> {
  const mesh = meshOf(options);
  const stale = await mesh.registry.staleDescriptors();
  await mesh.registry.list(); // lookups reclaim what belongs to dead processes
  await mesh.close(0);
  return stale;
}

function unlinkQuietly(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * One namespace of the runtime base: who runs it, and every kernel object named for it with
 * its owner. Objects of a namespace whose supervisor died, or where nothing runs any more,
 * are a dead deployment's leftovers: `hostmesh down -n <namespace>` removes them.
 */
function deploymentCheck(dir: RuntimeDir): { namespace: string; check: Check; objects: NamespaceObject[] } {
  const { objects, queuesUnlisted } = namespaceObjects(dir);
  const dead = readDeadState(dir);
  const supervisor = readState(dir);
  const live = liveDescriptors(dir);
  const running = supervisor
    ? `supervisor pid ${supervisor.pid}`
    : live > 0
      ? `${live} service(s) without a supervisor`
      : dead
        ? `supervisor pid ${dead.pid} died`
        : 'nothing running';
  const listed = objects.map((object) => `${object.path} (${object.kind}, owner ${object.owner})`).join(', ');
  const left = objects.length > 0 && (dead !== undefined || (!supervisor && live === 0));
  const detail =
    `${running}; ${objects.length} object(s)${listed ? `: ${listed}` : ''}` +
    (queuesUnlisted ? `; queues not listed: ${queuesUnlisted}` : '') +
    (left ? ` — left by a deployment that is gone: \`hostmesh down -n ${dir.namespace}\` removes them` : '');
  return { namespace: dir.namespace, objects, check: { check: `namespace ${dir.namespace}`, status: left ? 'warn' : 'ok', detail } };
}

/** Registry descriptors whose process still runs. */
function liveDescriptors(dir: RuntimeDir): number {
  let names: string[];
  try {
    names = readdirSync(dir.registryDir);
  } catch {
    return 0;
  }
  return names.filter((name) => {
    try {
      const descriptor = JSON.parse(readFileSync(join(dir.registryDir, name), 'utf8')) as { pid?: number; startTime?: number };
      return typeof descriptor.pid === 'number' && typeof descriptor.startTime === 'number' && isProcessAlive(descriptor.pid, descriptor.startTime);
    } catch {
      return false;
    }
  }).length;
}
