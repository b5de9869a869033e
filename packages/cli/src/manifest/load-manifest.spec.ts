import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { BINDING_REQUESTS } from '@hostmesh/framework';
import { MANIFEST_LIMITS } from '@hostmesh/framework/internal';
import { limitSchemas, loadManifest, manifestNamespace } from './load-manifest';
import { ManifestError } from './manifest-error';

describe('loadManifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-manifest-'));
  const entry = join(dir, 'service.js');
  writeFileSync(entry, '');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, manifest: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    return path;
  };
  const failure = (path: string) => {
    try {
      loadManifest(path);
    } catch (error) {
      return error as ManifestError;
    }
    throw new Error('expected the manifest to be refused');
  };

  it('resolves entries, applies defaults and orders services after their dependencies', () => {
    const path = write('ok.json', {
      namespace: 'shop',
      services: {
        web: { entry: 'service.js', dependsOn: ['api'], bindings: { quote: 'shm' }, limits: { mqueueDepth: 8, mqueueInFlight: 16 } },
        api: { entry: 'service.js', replicas: 2, env: { MODE: 'fast' } },
      },
    });
    const deployment = loadManifest(path);
    expect(deployment).toMatchObject({ namespace: 'shop', gracePeriodMs: 10_000, restart: { maxRestarts: 5 } });
    expect(deployment.services.map((s) => s.name)).toEqual(['api', 'web']);
    expect(deployment.services[0]).toMatchObject({ entry, replicas: 2, env: { MODE: 'fast' } });
    expect(deployment.services[1]!.env).toEqual({ HOSTMESH_BINDINGS: '{"quote":"shm"}', HOSTMESH_MQUEUE_DEPTH: '8', HOSTMESH_MQUEUE_IN_FLIGHT: '16' });
  });

  it.each([
    ['a field of the wrong type', { services: { api: { entry: 'service.js', replicas: 0 } } }, 'services.api.replicas', 'must be >= 1'],
    ['an unknown field', { services: { api: { entry: 'service.js', replica: 2 } } }, 'services.api.replica', 'is not a known field'],
    ['a missing entry', { services: { api: {} } }, 'services.api.entry', 'is required'],
    [
      'an unknown mechanism',
      { services: { api: { entry: 'service.js', bindings: { quote: 'pigeon' } } } },
      'services.api.bindings.quote',
      'must be one of auto, socket',
    ],
    ['no services', { services: {} }, 'services', 'has no services yet'],
    [
      'a bulkhead without a limit',
      { services: { api: { entry: 'service.js', endpoints: { quote: { bulkhead: { queue: 2 } } } } } },
      'services.api.endpoints.quote.bulkhead.limit',
      'is required',
    ],
    [
      'an unknown balance',
      { services: { api: { entry: 'service.js', endpoints: { quote: { balance: 'random' } } } } },
      'services.api.endpoints.quote.balance',
      'must be one of least-in-flight, round-robin',
    ],
  ])('names the file, the JSON path and what is expected for %s', (_what, manifest, path, problem) => {
    const file = write('bad.json', manifest);
    const error = failure(file);
    expect(error).toBeInstanceOf(ManifestError);
    expect(error.path).toBe(path);
    expect(error.problem).toContain(problem);
    expect(error.message).toContain(`${file}: ${path}`);
  });

  it('refuses an entry file that does not exist', () => {
    const error = failure(write('missing.json', { services: { api: { entry: 'dist/nope.js' } } }));
    expect(error.path).toBe('services.api.entry');
    expect(error.problem).toMatch(/entry file .*dist\/nope\.js does not exist \(build first\?\)/);
  });

  it('refuses a dependency on a service that is not there', () => {
    const error = failure(write('dep.json', { services: { api: { entry: 'service.js', dependsOn: ['db'] } } }));
    expect(error).toMatchObject({ path: 'services.api.dependsOn', problem: "'db' is not a service of this manifest (services: api)" });
  });

  it('names a dependency cycle in full', () => {
    const error = failure(
      write('cycle.json', {
        services: { a: { entry: 'service.js', dependsOn: ['b'] }, b: { entry: 'service.js', dependsOn: ['c'] }, c: { entry: 'service.js', dependsOn: ['a'] } },
      }),
    );
    expect(error.problem).toBe('dependency cycle: a → b → c → a');
  });

  describe('placing services on hosts', () => {
    const hosts = { a: { address: '10.77.0.1' }, b: { address: '10.77.0.2' } };
    const services = {
      pricing: { entry: 'service.js', host: 'a', port: 7101 },
      monitor: { entry: 'service.js', host: 'b', port: 7102, dependsOn: ['pricing'] },
      gateway: { entry: 'service.js' },
    };

    it('runs here what is placed here (or nowhere), and announces the rest as remote', () => {
      const file = write('hosts.json', { hosts, insecure: true, services });
      const onB = loadManifest(file, { HOSTMESH_HOST: 'b' });
      expect(onB.host).toBe('b');
      expect(onB.services.map((s) => s.name).sort()).toEqual(['gateway', 'monitor']);
      expect(onB.remote).toEqual([{ name: 'pricing', host: 'a', address: '10.77.0.1', port: 7101, tls: false }]);
      const monitor = onB.services.find((s) => s.name === 'monitor')!;
      // It listens where the other hosts look for it; its dependency runs elsewhere, so nothing to wait for here.
      expect(monitor.env).toMatchObject({ HOSTMESH_TCP_ENABLED: '1', HOSTMESH_TCP_HOST: '10.77.0.2', HOSTMESH_TCP_PORT: '7102', HOSTMESH_TCP_INSECURE: '1' });
      expect(monitor.dependsOn).toEqual([]);
      // Without --host, the host is the one whose address this machine has: here none.
      expect(() => loadManifest(file, {})).toThrow(
        /hosts none of a=10\.77\.0\.1, b=10\.77\.0\.2 is an address of this machine: run `hostmesh up --host <key>`/,
      );
      expect(manifestNamespace(file, { HOSTMESH_NAMESPACE: 'ns' })).toBe('ns');
    });

    it("without --host, runs as the host whose address is one of this machine's", () => {
      const local = { a: { address: '127.0.0.1' }, b: { address: '10.77.0.2' } };
      const file = write('local.json', { hosts: local, insecure: true, services });
      const here = loadManifest(file, {});
      expect(here.host).toBe('a');
      expect(here.services.map((s) => s.name).sort()).toEqual(['gateway', 'pricing']);
      const byName = write('named.json', { hosts: { a: { address: '10.77.0.1' }, b: { address: hostname() } }, insecure: true, services });
      expect(loadManifest(byName, {}).host).toBe('b');
    });

    it('hands every local service the TLS files, {host} replaced by this host', () => {
      for (const name of ['ca.crt', 'a.crt', 'a.key']) writeFileSync(join(dir, name), '');
      const file = write('tls.json', { hosts, tls: { ca: 'ca.crt', cert: '{host}.crt', key: '{host}.key' }, services });
      const onA = loadManifest(file, { HOSTMESH_HOST: 'a' });
      expect(onA.remote).toEqual([{ name: 'monitor', host: 'b', address: '10.77.0.2', port: 7102, tls: true }]);
      for (const service of onA.services) {
        expect(service.env).toMatchObject({
          HOSTMESH_TLS_CA: join(dir, 'ca.crt'),
          HOSTMESH_TLS_CERT: join(dir, 'a.crt'),
          HOSTMESH_TLS_KEY: join(dir, 'a.key'),
        });
      }
      expect(() => loadManifest(file, { HOSTMESH_HOST: 'b' })).toThrow(/tls\.cert .*b\.crt does not exist \(make certificates with `hostmesh certs`\)/);
    });

    it('hands every local service the NATS servers, and refuses a server that is not a NATS URL', () => {
      const file = write('nats.json', {
        nats: { servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'], insecure: true },
        services: { gateway: { entry: 'service.js' } },
      });
      expect(loadManifest(file, {}).services[0]!.env).toMatchObject({
        HOSTMESH_NATS_SERVERS: 'nats://10.0.0.5:4222,nats://10.0.0.6:4222',
        HOSTMESH_NATS_INSECURE: '1',
      });
      const tlsWithout = write('nats-tls.json', { nats: { servers: ['nats://10.0.0.5:4222'], tls: true }, services: { gateway: { entry: 'service.js' } } });
      expect(() => loadManifest(tlsWithout, {})).toThrow(/nats\.tls needs the manifest's tls files/);
      const bad = write('bad-nats.json', { nats: { servers: ['10.0.0.5:4222'] }, services: { gateway: { entry: 'service.js' } } });
      expect(() => loadManifest(bad, {})).toThrow(/nats\/servers\/0|nats\.servers\[0\]|nats\.servers\.0/);
    });

    it.each([
      [
        'a placed service without a port',
        { hosts, insecure: true, services: { api: { entry: 'service.js', host: 'a' } } },
        { HOSTMESH_HOST: 'a' },
        'services.api.port',
        'is required with host',
      ],
      [
        'remote services without TLS or insecure',
        { hosts, services },
        { HOSTMESH_HOST: 'a' },
        'tls',
        'give certificates (`hostmesh certs`) or set "insecure": true',
      ],
      ['an unknown --host', { hosts, insecure: true, services }, { HOSTMESH_HOST: 'c' }, 'hosts', "has no host 'c'"],
      [
        'replicas sharing one port',
        { hosts, insecure: true, services: { api: { entry: 'service.js', host: 'a', port: 7000, replicas: 2 } } },
        { HOSTMESH_HOST: 'a' },
        'services.api.replicas',
        'must be 1 with port 7000',
      ],
      [
        'a host that is not declared',
        { hosts, insecure: true, services: { api: { entry: 'service.js', host: 'z', port: 1 } } },
        { HOSTMESH_HOST: 'a' },
        'services.api.host',
        "'z' is not a key of hosts",
      ],
    ])('refuses %s, naming the field', (_what, manifest, env, path, problem) => {
      const file = write('placed.json', manifest);
      let error: ManifestError | undefined;
      try {
        loadManifest(file, env);
      } catch (caught) {
        error = caught as ManifestError;
      }
      expect(error).toBeInstanceOf(ManifestError);
      expect(error!.path).toBe(path);
      expect(error!.problem).toContain(problem);
    });
  });

  it("accepts docs/cli.md's manifest example as written", () => {
    const docs = readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'cli.md'), 'utf8');
    const example = JSON.parse(/```json\n(\{\n {2}"namespace": "quotes-example"[\s\S]*?)```/.exec(docs)![1]!) as {
      services: Record<string, { entry: string }>;
    };
    const here = mkdtempSync(join(tmpdir(), 'hm-doc-manifest-'));
    try {
      for (const service of Object.values(example.services)) {
        mkdirSync(dirname(join(here, service.entry)), { recursive: true });
        writeFileSync(join(here, service.entry), '');
      }
      writeFileSync(join(here, 'hostmesh.json'), JSON.stringify(example));
      const deployment = loadManifest(join(here, 'hostmesh.json'));
      expect(deployment.services.find((s) => s.name === 'pricing')!.env.HOSTMESH_ENDPOINTS).toContain('"bulkhead"');
    } finally {
      rmSync(here, { recursive: true, force: true });
    }
  });

  it('hands endpoint policies to the service as HOSTMESH_ENDPOINTS', () => {
    const policies = { quote: { idempotent: true, attemptTimeoutMs: 200, bulkhead: { limit: 4, queue: 8 }, balance: 'round-robin' } };
    const path = write('policies.json', { services: { api: { entry: 'service.js', replicas: 3, endpoints: policies } } });
    expect(JSON.parse(loadManifest(path).services[0]!.env.HOSTMESH_ENDPOINTS!)).toEqual(policies);
  });

  it('says when the file is not JSON, or not there at all', () => {
    expect(failure(write('broken.json', '{ "services": ')).problem).toMatch(/^not valid JSON/);
    expect(failure(join(dir, 'absent.json')).problem).toBe('the manifest file does not exist');
  });

  it('loads a typed hostmesh.config.ts', () => {
    const path = write('hostmesh.config.ts', `export default { namespace: 'typed', services: { api: { entry: ${JSON.stringify(entry)} } } };`);
    expect(loadManifest(path).namespace).toBe('typed');
  });

  it('passes every limit a plugin declares to the service as the variable its options read', () => {
    const limits = Object.fromEntries(
      Object.entries(MANIFEST_LIMITS).map(([name, limit], i) => [
        name,
        limit.powerOfTwo ? limit.minimum * 2 : limit.multipleOf ? limit.multipleOf * (i + 1) : limit.minimum + i + 1,
      ]),
    );
    const path = write('limits.json', { services: { api: { entry: 'service.js', limits } } });
    const env = loadManifest(path).services[0]!.env;
    expect(Object.keys(limits).sort()).toEqual(['maxPayloadBytes', 'mqueueDepth', 'mqueueInFlight', 'mqueueMessageSize', 'shmPoolBytes', 'shmRingBytes']);
    expect(env).toMatchObject({
      HOSTMESH_SHM_POOL_BYTES: String(limits.shmPoolBytes),
      HOSTMESH_MAX_PAYLOAD_BYTES: String(limits.maxPayloadBytes),
      HOSTMESH_SHM_RING_BYTES: String(limits.shmRingBytes),
      HOSTMESH_MQUEUE_DEPTH: String(limits.mqueueDepth),
      HOSTMESH_MQUEUE_MESSAGE_SIZE: String(limits.mqueueMessageSize),
    });
    // Its bounds come from the same declaration.
    const bad = write('bad-limit.json', { services: { api: { entry: 'service.js', limits: { mqueueInFlight: 5000 } } } });
    expect(failure(bad).message).toBe(`${bad}: services.api.limits.mqueueInFlight must be <= 4096`);
    const odd = write('odd-ring.json', { services: { api: { entry: 'service.js', limits: { shmRingBytes: 5000 } } } });
    expect(failure(odd).message).toMatch(new RegExp(`^${odd}: services\\.api\\.limits\\.shmRingBytes must be one of 4096, 8192, 16384, .*, 1073741824$`));
    const pool = write('odd-pool.json', { services: { api: { entry: 'service.js', limits: { shmPoolBytes: 100_000 } } } });
    expect(failure(pool).message).toBe(`${pool}: services.api.limits.shmPoolBytes must be multiple of 65536`);
    const unknown = write('unknown-limit.json', { services: { api: { entry: 'service.js', limits: { ringBytes: 4096 } } } });
    expect(failure(unknown).message).toBe(`${unknown}: services.api.limits.ringBytes is not a known field`);
  });

  it('ships a schema file (for editors) that agrees with the transport plugins', () => {
    const file = JSON.parse(readFileSync(join(__dirname, 'hostmesh.schema.json'), 'utf8'));
    const service = file.properties.services.additionalProperties.properties;
    expect(service.bindings.additionalProperties.enum).toEqual([...BINDING_REQUESTS]);
    expect(service.limits.properties).toEqual(limitSchemas());
  });

  it('runs a group as one plan, after what any member depends on, and names a cycle only groups make', () => {
    const ok = write('grouped.json', {
      services: {
        db: { entry: 'service.js' },
        api: { entry: 'service.js', group: 'web', dependsOn: ['db', 'auth'] },
        auth: { entry: 'service.js', group: 'web' },
        ui: { entry: 'service.js', dependsOn: ['api'] },
      },
    });
    const plans = loadManifest(ok).services;
    expect(plans.map((p) => [p.name, p.dependsOn, p.members?.map((m) => m.name)])).toEqual([
      ['db', [], undefined],
      ['web', ['db'], ['auth', 'api']],
      ['ui', ['web'], undefined],
    ]);
    // a1 → b1 and b2 → a2: no cycle between services, one between the two groups' processes.
    const cycle = write('group-cycle.json', {
      services: {
        a1: { entry: 'service.js', group: 'ga', dependsOn: ['b1'] },
        a2: { entry: 'service.js', group: 'ga' },
        b1: { entry: 'service.js', group: 'gb' },
        b2: { entry: 'service.js', group: 'gb', dependsOn: ['a2'] },
      },
    });
    expect(failure(cycle).message).toBe(
      `${cycle}: services.b1.group makes a dependency cycle between processes: group gb (b1, b2) → group ga (a1, a2) → group gb (b1, b2); a group starts as one process, after what any of its services depends on`,
    );
    // A cycle between services is named as one, group or not.
    const real = write('real-cycle.json', {
      services: {
        a: { entry: 'service.js', group: 'g', dependsOn: ['b'] },
        b: { entry: 'service.js', dependsOn: ['a'] },
        c: { entry: 'service.js', group: 'g' },
      },
    });
    expect(failure(real).message).toBe(`${real}: services.a.dependsOn dependency cycle: a → b → a`);
    const big = write('group-env.json', {
      services: { a: { entry: 'service.js', group: 'g', env: { BLOB: 'x'.repeat(120_000) } }, b: { entry: 'service.js', group: 'g' } },
    });
    expect(failure(big).message).toMatch(/services\.a\.group 'g': its services' environments take \d+ bytes; a group's must fit in 100000 \(one variable\)$/);
  });
});
