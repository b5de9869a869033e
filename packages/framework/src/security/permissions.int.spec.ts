import { spawn } from 'node:child_process';
import { chmodSync, chownSync, fstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listQueues, MessageQueue, mkfifo, NamedSemaphore, objectName, ShmSegment } from '@hostmesh/native';
import { ForbiddenError, PeerRefusedError } from '../core/errors/errors';
import { Mesh } from '../runtime/mesh';
import { RuntimeDir } from '../core/runtime-dir';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, SpawnedService, spawnService, typescriptExecArgv } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';

/**
 * Permissions and peer authorization, with real kernel objects and real processes. The
 * test runs as root and drops privileges in children (uid/gid of child_process.spawn):
 * every object another uid can name must refuse it, and every Unix socket checks the
 * caller's SO_PEERCRED against the service's allow-list and guard hook.
 */
const NOBODY = 65534;
const PROBE = join(__dirname, 'fixtures', 'probe.main.ts');
const GUARDED = join(__dirname, 'fixtures', 'guarded.main.ts');
const UID_GUARDED = join(__dirname, 'fixtures', 'uid-guarded.main.ts');
const SERVICE = join(__dirname, '..', 'testing', 'fixtures', 'conformance.main.ts');
const isRoot = process.getuid?.() === 0;

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  name?: string;
  message?: string;
}
interface ProbeReport {
  uid: number;
  pid: number;
  results: Record<string, Outcome>;
}
type Probe = { name: string; kind: string; target: string; service?: string };

const children: SpawnedService[] = [];

/** Objects this file's namespaces name (`hm.<uid>.<ns><pid>.…`), of root or of uid 65534. */
function ours(entry: string): boolean {
  return [`hm.0.`, `hm.${NOBODY}.`].some((user) =>
    ['perm', 'private', 'guarded', 'uidguard', 'nobodyguard', 'strict', 'open'].some((ns) => entry.startsWith(`${user}${ns}${process.pid}.`)),
  );
}

/** Runs the probe child (as `uid` when given), bounded in time; every child is reaped. */
async function probe(probes: Probe[], options: { uid?: number; args?: string[] } = {}): Promise<ProbeReport> {
  const ids = options.uid === undefined ? {} : { uid: options.uid, gid: options.uid };
  const child = spawn(process.execPath, [...typescriptExecArgv(), PROBE, JSON.stringify(probes), ...(options.args ?? [])], {
    ...ids,
    cwd: '/',
    env: { ...process.env, HOME: '/' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = new SpawnedService(child);
  children.push(spawned);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exit = await spawned.exited;
  clearTimeout(timer);
  const line = spawned.output.split('\n').find((text) => text.startsWith('{"uid"'));
  if (!line) throw new Error(`probe exited ${JSON.stringify(exit)} without a report; output:\n${spawned.output}`);
  const report = JSON.parse(line) as ProbeReport;
  if (options.uid !== undefined) expect(report.uid).toBe(options.uid);
  return report;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** What the probe saw for one object: refused by the kernel's permission check. */
function expectRefused(outcome: Outcome | undefined): void {
  expect(outcome).toMatchObject({ ok: false });
  expect(['EACCES', 'EPERM']).toContain(outcome!.code);
}

function expectPeerRefused(outcome: Outcome | undefined): void {
  expect(outcome).toMatchObject({ ok: false, name: 'PeerRefusedError', code: PeerRefusedError.code });
}

/** A service running as another user, in its own runtime directory (spawnService cannot change uid). */
async function spawnAs(uid: number, entry: string, env: NodeJS.ProcessEnv): Promise<SpawnedService> {
  const child = spawn(process.execPath, [...typescriptExecArgv(), entry], {
    uid,
    gid: uid,
    cwd: '/',
    env: { ...process.env, HOME: '/', HOSTMESH_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = new SpawnedService(child);
  children.push(spawned);
  await spawned.waitForOutput(/ready \(pid \d+\)/, 20_000);
  return spawned;
}

(isRoot ? describe : describe.skip)('permissions and peer authorization (as root, dropping to uid 65534)', () => {
  jest.setTimeout(60_000);
  const runtime = tempRuntimeDir('hm-perm-');
  const meshes: Mesh[] = [];
  const cleanups: Array<() => void> = [];

  afterAll(async () => {
    // Each step on its own: one that throws must not keep the others from cleaning up.
    const steps: Array<() => unknown> = [
      ...meshes.map((mesh) => () => mesh.close(0)),
      ...children.map((child) => () => child.kill()),
      ...cleanups.reverse(),
      // Killed services leave their (durable) event queues and any channel behind: remove this file's.
      () => {
        const queues = listQueues();
        if (!queues.ok) throw new Error(queues.reason);
        for (const queue of queues.queues.filter((entry) => ours(entry.name.slice(1)))) MessageQueue.unlink(queue.name);
      },
      () => {
        for (const entry of readdirSync('/dev/shm').filter((name) => ours(name.replace(/^sem\./, '')))) rmSync(join('/dev/shm', entry), { force: true });
      },
    ];
    const failures: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    runtime.remove();
    if (failures.length) throw new AggregateError(failures, `${failures.length} cleanup steps failed`);
  });

  it('creates shm segments, message queues, semaphores and FIFOs 0600 (whatever the umask), and uid 65534 is refused each', async () => {
    const namespace = `perm${process.pid}`;
    const names = {
      segment: objectName(namespace, 'seg'),
      queue: objectName(namespace, 'queue'),
      semaphore: objectName(namespace, 'sem'),
      open: objectName(namespace, 'open'),
    };
    const pipes = mkdtempSync(join(tmpdir(), 'hm-fifo-'));
    chmodSync(pipes, 0o755); // so the FIFO's own mode is what refuses, not its directory
    cleanups.push(() => rmSync(pipes, { recursive: true, force: true }));
    const fifo = join(pipes, 'private.fifo');
    const openFifo = join(pipes, 'open.fifo');

    // With umask 0 a mode that came from the umask would show up as 0666/0777.
    const umask = process.umask(0);
    let segment: ShmSegment, control: ShmSegment, queue: MessageQueue, semaphore: NamedSemaphore;
    try {
      segment = ShmSegment.create(names.segment, 4096);
      control = ShmSegment.create(names.open, 4096);
      queue = MessageQueue.create(names.queue, { maxMessages: 4, messageSize: 128 });
      semaphore = NamedSemaphore.create(names.semaphore, 1);
      mkfifo(fifo);
      mkfifo(openFifo, 0o666);
    } finally {
      process.umask(umask);
    }
    cleanups.push(() => {
      segment.close();
      control.close();
      queue.close();
      semaphore.close();
      for (const name of [names.segment, names.open]) ShmSegment.unlink(name);
      MessageQueue.unlink(names.queue);
      NamedSemaphore.unlink(names.semaphore);
    });

    expect(mode(`/dev/shm${names.segment}`)).toBe(0o600);
    expect(fstatSync(queue.fd).mode & 0o777).toBe(0o600); // the queue's own descriptor: no /dev/mqueue mount needed
    expect(mode(`/dev/shm/sem.${names.semaphore.slice(1)}`)).toBe(0o600);
    expect(mode(fifo)).toBe(0o600);
    expect(statSync(`/dev/shm${names.segment}`).uid).toBe(0);
    expect(names.segment).toBe(`/hm.0.${namespace}.seg`); // the per-user namespace of object names
    // Controls: the same probes succeed on objects opened up on purpose, so a refusal below is the mode's doing.
    chmodSync(`/dev/shm${names.open}`, 0o666);

    const report = await probe(
      [
        { name: 'shm', kind: 'shm', target: names.segment },
        { name: 'shm-file', kind: 'open-read', target: `/dev/shm${names.segment}` },
        { name: 'mq', kind: 'mq', target: names.queue },
        { name: 'sem', kind: 'sem', target: names.semaphore },
        { name: 'fifo', kind: 'open-write', target: fifo },
        { name: 'control-shm', kind: 'open-read', target: `/dev/shm${names.open}` },
        { name: 'foreign-shm', kind: 'shm', target: names.open },
        { name: 'control-fifo', kind: 'open-write', target: openFifo },
      ],
      { uid: NOBODY },
    );
    for (const kind of ['shm', 'shm-file', 'mq', 'sem', 'fifo']) expectRefused(report.results[kind]);
    expect(report.results['control-shm']).toMatchObject({ ok: true });
    // The addon itself also refuses a segment of another uid, even one opened up to everybody.
    expectRefused(report.results['foreign-shm']);
    expect(report.results['foreign-shm']!.message).toContain('owned by another user');
    // Permission granted; no reader on the other end.
    expect(report.results['control-fifo']).toMatchObject({ ok: false, code: 'ENXIO' });
  });

  it("keeps a running service's runtime dir (0700), descriptor and sockets (0600) and shm channels (0600) private; each fence holds on its own", async () => {
    const namespace = `private${process.pid}`;
    chmodSync(runtime.path, 0o755); // the base may be listable; what is under it may not
    const server = await spawnService(SERVICE, {
      env: {
        HOSTMESH_RUNTIME_DIR: runtime.path,
        HOSTMESH_NAMESPACE: namespace,
        HOSTMESH_LOG_LEVEL: 'info',
        HOSTMESH_BINDINGS: JSON.stringify({ 'conformance.add': 'shm', 'conformance.echo': 'fifo' }),
      },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
    children.push(server);
    const dir = new RuntimeDir(runtime.path, namespace);
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    meshes.push(mesh);
    const client = mesh.client(Conformance);
    await expect(client.add(2, 3)).resolves.toBe(5); // over shm: a channel now exists
    await expect(client.echo('x')).resolves.toBe('x'); // over fifo

    const sockets = {
      uds: dir.socketPath('conformance', '0'),
      shm: dir.socketPath('conformance', '0.shm'),
      fifo: dir.socketPath('conformance', '0.fifo'),
    };
    for (const path of [dir.root, dir.registryDir, dir.socketDir, dir.subscriptionDir]) expect([path, mode(path)]).toEqual([path, 0o700]);
    expect(mode(dir.descriptorPath('conformance', '0'))).toBe(0o600);
    for (const path of Object.values(sockets)) {
      expect(statSync(path).isSocket()).toBe(true);
      expect([path, mode(path)]).toEqual([path, 0o600]);
    }
    const channelFiles = readdirSync('/dev/shm').filter((entry) => entry.startsWith(`${dir.objectPrefix()}conformance.`));
    expect(channelFiles.length).toBeGreaterThanOrEqual(3); // the segment and its two doorbells
    for (const entry of channelFiles) expect([entry, mode(`/dev/shm/${entry}`)]).toEqual([entry, 0o600]);
    const listing = listQueues();
    if (!listing.ok) throw new Error(listing.reason);
    const queues = listing.queues.filter((entry) => entry.name.startsWith(`/hm.0.${namespace}.`));
    expect(queues.length).toBeGreaterThanOrEqual(1); // its event queue (it subscribes to conformance.ping)
    for (const entry of queues) expect(entry).toMatchObject({ uid: 0, mode: 0o600 });

    // Fence 1, the 0700 directory: nobody can list, read or even reach the sockets.
    const outside = await probe(
      [
        { name: 'list', kind: 'readdir', target: dir.root },
        { name: 'descriptor', kind: 'open-read', target: dir.descriptorPath('conformance', '0') },
        { name: 'connect', kind: 'connect', target: sockets.uds },
        { name: 'shm-channel', kind: 'shm', target: `/${channelFiles.find((entry) => !entry.includes('.bell'))!}` },
      ],
      { uid: NOBODY },
    );
    for (const name of ['list', 'descriptor', 'connect', 'shm-channel']) expectRefused(outside.results[name]);

    // Fence 2, the 0600 socket file: with the directories made traversable, connecting is still refused.
    chmodSync(dir.root, 0o711);
    chmodSync(dir.socketDir, 0o711);
    const traversable = await probe([{ name: 'connect', kind: 'connect', target: sockets.uds }], { uid: NOBODY });
    expectRefused(traversable.results.connect);

    // Fence 3, SO_PEERCRED: with the socket files opened up too, the service itself refuses uid 65534.
    for (const path of Object.values(sockets)) chmodSync(path, 0o666);
    const connected = await probe(
      [
        { name: 'connect', kind: 'connect', target: sockets.uds },
        { name: 'rpc', kind: 'rpc-uds', target: sockets.uds, service: 'conformance' },
        { name: 'shm', kind: 'handshake-shm', target: sockets.shm },
        { name: 'fifo', kind: 'handshake-fifo', target: sockets.fifo },
      ],
      { uid: NOBODY },
    );
    expect(connected.results.connect).toMatchObject({ ok: true }); // the kernel let it through...
    for (const name of ['rpc', 'shm', 'fifo']) expectPeerRefused(connected.results[name]); // ...the service did not
    expect(connected.results.rpc!.message).toContain(`uid ${NOBODY}`);

    // The service goes on serving its own user, and logged the intruder once (pid and uid) for three refusals.
    chmodSync(dir.root, 0o700);
    chmodSync(dir.socketDir, 0o700);
    await expect(client.add(20, 22)).resolves.toBe(42);
    const refusals = server.output.split('\n').filter((line) => line.includes(`refused connection to conformance from pid ${connected.pid} (uid ${NOBODY}`));
    expect(refusals).toHaveLength(1);
  });

  it('does not let root in by default: a service running as uid 65534 refuses a root caller unless peers.uids lists 0', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hm-nobody-'));
    chownSync(base, NOBODY, NOBODY);
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const env = { HOSTMESH_RUNTIME_DIR: base, HOSTMESH_BINDINGS: JSON.stringify({ 'conformance.add': 'shm' }) };
    const [strictNs, openNs] = [`strict${process.pid}`, `open${process.pid}`];
    const strict = await spawnAs(NOBODY, SERVICE, { ...env, HOSTMESH_NAMESPACE: strictNs });
    const open = await spawnAs(NOBODY, SERVICE, { ...env, HOSTMESH_NAMESPACE: openNs, HOSTMESH_PEER_UIDS: '0' });
    const socket = (namespace: string, suffix = '') => new RuntimeDir(base, namespace).socketPath('conformance', `0${suffix}`);
    expect(statSync(socket(strictNs)).uid).toBe(NOBODY);

    // Root passes every file permission check (CAP_DAC_OVERRIDE); only SO_PEERCRED stops it.
    const report = await probe([
      { name: 'strict-rpc', kind: 'rpc-uds', target: socket(strictNs), service: 'conformance' },
      { name: 'strict-shm', kind: 'handshake-shm', target: socket(strictNs, '.shm') },
      { name: 'open-rpc', kind: 'rpc-uds', target: socket(openNs), service: 'conformance' },
      { name: 'open-shm', kind: 'handshake-shm', target: socket(openNs, '.shm') },
    ]);
    expect(report.uid).toBe(0);
    expectPeerRefused(report.results['strict-rpc']);
    expectPeerRefused(report.results['strict-shm']);
    expect(report.results['strict-rpc']!.message).toContain('uid 0 (gid 0) is not allowed');
    expect(report.results['open-rpc']).toEqual({ ok: true, value: 5 });
    // The service admits root over shm too, but the client's addon will not map a segment
    // another uid owns: cross-uid peers can use Unix sockets, not shared memory.
    expect(report.results['open-shm']).toMatchObject({ ok: false, name: 'PosixError', code: 'EACCES' });
    expect(report.results['open-shm']!.message).toContain('owned by another user');
    await strict.waitForOutput(`refused connection to conformance from pid ${report.pid} (uid 0`);
    expect(open.output).not.toContain('refused connection');
  });

  it('lets an endpoint guard refuse a caller by its kernel uid: uid 65534 over uds, uid 0 over shm, and the service goes on serving', async () => {
    const namespace = `uidguard${process.pid}`;
    const server = await spawnService(UID_GUARDED, {
      env: {
        HOSTMESH_RUNTIME_DIR: runtime.path,
        HOSTMESH_NAMESPACE: namespace,
        HOSTMESH_BINDINGS: JSON.stringify({ 'conformance.echo': 'shm' }),
        UID_GUARD: JSON.stringify({ 'conformance.add': [NOBODY], 'conformance.echo': [0] }),
      },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
    children.push(server);
    const dir = new RuntimeDir(runtime.path, namespace);
    const socket = dir.socketPath('conformance', '0');
    // Open the file fences, so what stops uid 65534 is the guard, not a permission.
    const modes = [runtime.path, dir.root, dir.socketDir, socket].map((path) => [path, mode(path)] as const);
    chmodSync(runtime.path, 0o711);
    chmodSync(dir.root, 0o711);
    chmodSync(dir.socketDir, 0o711);
    chmodSync(socket, 0o666);
    let report: ProbeReport;
    try {
      report = await probe([{ name: 'add', kind: 'rpc-uds', target: socket, service: 'conformance' }], { uid: NOBODY });
    } finally {
      for (const [path, before] of modes) chmodSync(path, before);
    }
    expect(report.results.add).toMatchObject({ ok: false, name: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(report.results.add!.message).toBe(`uid ${NOBODY} may not call conformance.add (over uds, pid ${report.pid})`);

    // Root: add (over uds) is allowed; echo, over shared memory, is refused by the uid the shm handshake reported.
    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    meshes.push(mesh);
    const client = mesh.client(Conformance);
    await expect(client.add(2, 3)).resolves.toBe(5);
    const refused = await client.echo('x').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ForbiddenError);
    expect((refused as Error).message).toBe(`uid 0 may not call conformance.echo (over shm, pid ${process.pid})`);
    await expect(client.add(20, 22)).resolves.toBe(42);
  });

  it('lets the endpoint guard refuse uid 65534 over shared memory too, where caller and service share the uid (shm is never mapped across uids)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hm-nobody-'));
    chownSync(base, NOBODY, NOBODY);
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const namespace = `nobodyguard${process.pid}`;
    await spawnAs(NOBODY, UID_GUARDED, {
      HOSTMESH_RUNTIME_DIR: base,
      HOSTMESH_NAMESPACE: namespace,
      HOSTMESH_BINDINGS: JSON.stringify({ 'conformance.add': 'shm' }),
      UID_GUARD: JSON.stringify({ 'conformance.add': [NOBODY] }),
    });
    const socket = (suffix: string) => new RuntimeDir(base, namespace).socketPath('conformance', `0${suffix}`);
    const report = await probe(
      [
        { name: 'shm', kind: 'rpc-shm', target: socket('.shm'), service: 'conformance' },
        { name: 'uds', kind: 'rpc-uds', target: socket(''), service: 'conformance' },
      ],
      { uid: NOBODY },
    );
    expect(report.results.shm).toMatchObject({ ok: false, name: 'ForbiddenError', code: 'FORBIDDEN' });
    expect(report.results.shm!.message).toBe(`uid ${NOBODY} may not call conformance.add (over shm, pid ${report.pid})`);
    expect(report.results.uds!.message).toBe(`uid ${NOBODY} may not call conformance.add (over uds, pid ${report.pid})`);
  });

  it('lets a guard hook refuse one process by pid while the same service answers others', async () => {
    const namespace = `guarded${process.pid}`;
    const server = await spawnService(GUARDED, {
      env: {
        HOSTMESH_RUNTIME_DIR: runtime.path,
        HOSTMESH_NAMESPACE: namespace,
        HOSTMESH_LOG_LEVEL: 'info',
        HOSTMESH_BINDINGS: JSON.stringify({ 'conformance.add': 'shm' }),
      },
      ready: { service: 'conformance', runtimeDir: runtime.path, namespace },
    });
    children.push(server);
    const dir = new RuntimeDir(runtime.path, namespace);
    const probes = [
      { name: 'rpc', kind: 'rpc-uds', target: dir.socketPath('conformance', '0'), service: 'conformance' },
      { name: 'shm', kind: 'handshake-shm', target: dir.socketPath('conformance', '0.shm') },
    ];
    const [intruder, friend] = await Promise.all([probe(probes, { args: ['--intruder'] }), probe(probes)]);
    expectPeerRefused(intruder.results.rpc);
    expectPeerRefused(intruder.results.shm);
    expect(intruder.results.rpc!.message).toContain(`pid ${intruder.pid} is an intruder`);
    expect(friend.results).toEqual({ rpc: { ok: true, value: 5 }, shm: { ok: true, value: 'connected' } });

    const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
    meshes.push(mesh);
    await expect(mesh.client(Conformance).add(1, 1)).resolves.toBe(2);
    await server.waitForOutput(`refused connection to conformance from pid ${intruder.pid} (uid 0, gid 0): pid ${intruder.pid} is an intruder`);
    expect(server.output).not.toContain(`from pid ${friend.pid}`);
    await sleep(0);
  });
});
