import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifest } from './load-manifest';
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
        web: { entry: 'service.js', dependsOn: ['api'], bindings: { quote: 'shm' }, limits: { mqueueDepth: 8 } },
        api: { entry: 'service.js', replicas: 2, env: { MODE: 'fast' } },
      },
    });
    const deployment = loadManifest(path);
    expect(deployment).toMatchObject({ namespace: 'shop', gracePeriodMs: 10_000, restart: { maxRestarts: 5 } });
    expect(deployment.services.map((s) => s.name)).toEqual(['api', 'web']);
    expect(deployment.services[0]).toMatchObject({ entry, replicas: 2, env: { MODE: 'fast' } });
    expect(deployment.services[1]!.env).toEqual({ HOSTMESH_BINDINGS: '{"quote":"shm"}', HOSTMESH_MQUEUE_DEPTH: '8' });
  });

  it.each([
    ['a field of the wrong type', { services: { api: { entry: 'service.js', replicas: 0 } } }, 'services.api.replicas', 'must be >= 1'],
    ['an unknown field', { services: { api: { entry: 'service.js', replica: 2 } } }, 'services.api.replica', 'is not a known field'],
    ['a missing entry', { services: { api: {} } }, 'services.api.entry', 'is required'],
    ['an unknown mechanism', { services: { api: { entry: 'service.js', bindings: { quote: 'pigeon' } } } }, 'services.api.bindings.quote', 'must be one of auto, socket'],
    ['no services', { services: {} }, 'services', 'has no services yet'],
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

  it('says when the file is not JSON, or not there at all', () => {
    expect(failure(write('broken.json', '{ "services": ')).problem).toMatch(/^not valid JSON/);
    expect(failure(join(dir, 'absent.json')).problem).toBe('the manifest file does not exist');
  });

  it('loads a typed hostmesh.config.ts', () => {
    const path = write('hostmesh.config.ts', `export default { namespace: 'typed', services: { api: { entry: ${JSON.stringify(entry)} } } };`);
    expect(loadManifest(path).namespace).toBe('typed');
  });
});
