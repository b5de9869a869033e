import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, extname, relative, resolve } from 'node:path';
import { BINDING_REQUESTS } from '@hostmesh/framework';
import { MANIFEST_LIMITS } from '@hostmesh/framework/internal';
import Ajv, { type ErrorObject } from 'ajv';
import schema from './hostmesh.schema.json';
import type { Deployment, Manifest, RemoteService, ServicePlan } from './manifest';
import { ManifestError } from './manifest-error';
import { groupServices } from './service-groups';
import { startOrder } from './start-order';

// The mechanisms a binding may name, and the limits a service may be given, come from the
// framework's transport plugins: the schema file lists them for editors (a test keeps it equal).
const serviceSchema = schema.properties.services.additionalProperties.properties;
serviceSchema.bindings.additionalProperties.enum = [...BINDING_REQUESTS];
(serviceSchema.limits as { properties: Record<string, unknown> }).properties = limitSchemas();
const validate = new Ajv({ allErrors: true, strict: false }).compile<Manifest>(schema);

/**
 * Reads hostmesh.json (or a hostmesh.config.ts/.js exporting the manifest), checks it
 * against the JSON Schema and then for what a schema cannot say (entry files exist,
 * dependencies name services, no cycles). Every problem names the file, the JSON path
 * and what was expected.
 */
export function loadManifest(path: string, env: NodeJS.ProcessEnv = process.env): Deployment {
  const file = resolve(path);
  const manifest = readValid(file);
  if (Object.keys(manifest.services).length === 0) {
    throw new ManifestError(file, 'services', 'has no services yet: add one with `nx g @hostmesh/framework:service <name>`');
  }
  const base = dirname(file);
  const here = placement(file, manifest, env.HOSTMESH_HOST);
  const shared = here.env;
  const services: ServicePlan[] = [];
  const remote: RemoteService[] = [];
  for (const [name, entry] of Object.entries(manifest.services)) {
    if (entry.host !== undefined && !(manifest.hosts && entry.host in manifest.hosts)) {
      throw new ManifestError(file, `services.${name}.host`, `'${entry.host}' is not a key of hosts`);
    }
    if (entry.host !== undefined && entry.port === undefined) {
      throw new ManifestError(file, `services.${name}.port`, `is required with host: the other hosts reach '${name}' at ${entry.host}'s address and this port`);
    }
    if (entry.port !== undefined && (entry.replicas ?? 1) > 1) {
      throw new ManifestError(
        file,
        `services.${name}.replicas`,
        `must be 1 with port ${entry.port}: replicas of one host cannot all listen on it (place replicas on different hosts)`,
      );
    }
    if (entry.host !== undefined && entry.host !== here.host) {
      const { address } = manifest.hosts![entry.host]!;
      remote.push({ name, host: entry.host, address, port: entry.port!, tls: manifest.tls !== undefined });
      continue;
    }
    const entryFile = resolve(base, entry.entry);
    if (!existsSync(entryFile) || !statSync(entryFile).isFile()) {
      throw new ManifestError(file, `services.${name}.entry`, `entry file ${relative(process.cwd(), entryFile) || entryFile} does not exist (build first?)`);
    }
    for (const dependency of entry.dependsOn ?? []) {
      if (!(dependency in manifest.services)) {
        throw new ManifestError(
          file,
          `services.${name}.dependsOn`,
          `'${dependency}' is not a service of this manifest (services: ${Object.keys(manifest.services).join(', ')})`,
        );
      }
    }
    const listen: Record<string, string> =
      entry.port !== undefined && here.address !== undefined
        ? { HOSTMESH_TCP_ENABLED: '1', HOSTMESH_TCP_HOST: here.address, HOSTMESH_TCP_PORT: String(entry.port) }
        : {};
    services.push({
      name,
      entry: entryFile,
      replicas: entry.replicas ?? 1,
      env: { ...shared, ...listen, ...environmentOf(entry), ...entry.env },
      // What runs elsewhere is not started here: there is nothing to wait for.
      dependsOn: (entry.dependsOn ?? []).filter(
        (dependency) => manifest.services[dependency]!.host === undefined || manifest.services[dependency]!.host === here.host,
      ),
      nodeOptions: entry.nodeOptions ?? [],
    });
  }
  if (remote.length > 0 && manifest.tls === undefined && manifest.insecure !== true) {
    throw new ManifestError(
      file,
      'tls',
      `services on other hosts (${remote.map((r) => r.name).join(', ')}) are reached over TCP: give certificates (\`hostmesh certs\`) or set "insecure": true`,
    );
  }
  const gracePeriodMs = manifest.gracePeriodMs ?? 10_000;
  return {
    file,
    namespace: manifest.namespace ?? env.HOSTMESH_NAMESPACE ?? 'default',
    gracePeriodMs,
    restart: {
      initialDelayMs: manifest.restart?.initialDelayMs ?? 100,
      maxDelayMs: manifest.restart?.maxDelayMs ?? 10_000,
      maxRestarts: manifest.restart?.maxRestarts ?? 5,
      windowMs: manifest.restart?.windowMs ?? 60_000,
    },
    prometheusPort: manifest.metrics?.prometheusPort,
    host: here.host,
    // A cycle between services is named as one first; one only groups make, after.
    services: startOrder(file, groupServices(file, manifest, startOrder(file, services), { ...shared, HOSTMESH_GRACE_PERIOD_MS: String(gracePeriodMs) })),
    remote,
  };
}

/**
 * Which host this is (HOSTMESH_HOST, from `up --host`), the address its services listen on
 * for the other hosts, and the TLS (or insecure) settings every local service gets.
 */
function placement(
  file: string,
  manifest: Manifest,
  host: string | undefined,
): { host: string | undefined; address: string | undefined; env: Record<string, string> } {
  if (host !== undefined && host !== '' && !(manifest.hosts && host in manifest.hosts)) {
    throw new ManifestError(file, 'hosts', `has no host '${host}' (the --host given; hosts: ${Object.keys(manifest.hosts ?? {}).join(', ') || 'none'})`);
  }
  const key = host || detectHost(file, manifest);
  const env: Record<string, string> = {};
  if (manifest.tls) {
    for (const field of ['ca', 'cert', 'key'] as const) {
      const path = resolve(dirname(file), manifest.tls[field].replaceAll('{host}', key ?? 'localhost'));
      if (!existsSync(path))
        throw new ManifestError(file, `tls.${field}`, `${relative(process.cwd(), path) || path} does not exist (make certificates with \`hostmesh certs\`)`);
      env[`HOSTMESH_TLS_${field.toUpperCase()}`] = path;
    }
  }
  if (manifest.insecure) env.HOSTMESH_TCP_INSECURE = '1';
  if (manifest.nats) {
    env.HOSTMESH_NATS_SERVERS = manifest.nats.servers.join(',');
    if (manifest.nats.tls) {
      if (!manifest.tls) throw new ManifestError(file, 'nats.tls', "needs the manifest's tls files (ca, cert, key) to present to the NATS servers");
      env.HOSTMESH_NATS_TLS = '1';
    }
    if (manifest.nats.insecure) env.HOSTMESH_NATS_INSECURE = '1';
  }
  return { host: key, address: key === undefined ? undefined : manifest.hosts![key]!.address, env };
}

/**
 * Without --host: the key of `hosts` whose address is one of this machine's (or its host
 * name), when the
 * manifest places services at all. None or several matching is an error naming them, so
 * `up` never silently starts none of the placed services.
 */
function detectHost(file: string, manifest: Manifest): string | undefined {
  const hosts = Object.entries(manifest.hosts ?? {});
  if (hosts.length === 0 || !Object.values(manifest.services).some((s) => s.host !== undefined)) return undefined;
  // This machine's interface addresses, and its host name for manifests that give hosts by name.
  const mine = new Set([...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)), hostname()]);
  const matching = hosts.filter(([, h]) => mine.has(h.address)).map(([key]) => key);
  if (matching.length === 1) return matching[0];
  const listed = hosts.map(([key, h]) => `${key}=${h.address}`).join(', ');
  throw new ManifestError(
    file,
    'hosts',
    matching.length === 0
      ? `none of ${listed} is an address of this machine: run \`hostmesh up --host <key>\` (or set HOSTMESH_HOST)`
      : `${matching.join(' and ')} are all addresses of this machine: choose with \`hostmesh up --host <key>\``,
  );
}

/** Per-binding overrides and limits reach a service as the HOSTMESH_* variables it reads. */
function environmentOf(entry: Manifest['services'][string]): Record<string, string> {
  const env: Record<string, string> = {};
  if (entry.bindings) env.HOSTMESH_BINDINGS = JSON.stringify(entry.bindings);
  if (entry.shell) env.HOSTMESH_SHELL = entry.shell.join(',');
  if (entry.endpoints) env.HOSTMESH_ENDPOINTS = JSON.stringify(entry.endpoints);
  for (const [name, value] of Object.entries(entry.limits ?? {})) env[MANIFEST_LIMITS[name as keyof typeof MANIFEST_LIMITS].env] = String(value);
  return env;
}

/** `limits.<name>` in the schema: an integer within the limit's bounds, described. */
export function limitSchemas(): Record<
  string,
  { description: string; type: 'integer'; minimum?: number; maximum?: number; enum?: number[]; multipleOf?: number }
> {
  return Object.fromEntries(
    Object.entries(MANIFEST_LIMITS).map(([name, limit]) => {
      const bounds = limit.powerOfTwo
        ? { enum: powersOfTwo(limit.minimum, limit.maximum ?? 2 ** 30) }
        : {
            minimum: limit.minimum,
            ...(limit.maximum !== undefined ? { maximum: limit.maximum } : {}),
            ...(limit.multipleOf !== undefined ? { multipleOf: limit.multipleOf } : {}),
          };
      return [name, { description: limit.description, type: 'integer' as const, ...bounds }];
    }),
  );
}

function powersOfTwo(from: number, to: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value *= 2) values.push(value);
  return values;
}

/**
 * The namespace a manifest deploys into: what `ps`, `down`, `call`… need from it. Checked
 * against the schema, but not for what only `up` needs (entry files, certificates, --host).
 */
export function manifestNamespace(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return readValid(resolve(path)).namespace ?? env.HOSTMESH_NAMESPACE ?? 'default';
}

function readValid(file: string): Manifest {
  if (!existsSync(file)) throw new ManifestError(file, '', 'the manifest file does not exist');
  const raw = readManifest(file);
  if (!validate(raw))
    throw new ManifestError(
      file,
      describePath(validate.errors![0]!),
      describeSchemaError(validate.errors![0]!),
      validate.errors!.map((e) => `${describePath(e) || '(root)'} ${describeSchemaError(e)}`),
    );
  return raw;
}

function readManifest(file: string): unknown {
  const extension = extname(file);
  if (extension === '.json') {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ManifestError(file, '', `not valid JSON: ${(error as Error).message}`);
    }
  }
  if (extension === '.ts' || extension === '.js' || extension === '.cjs') {
    if (extension === '.ts') require('@hostmesh/framework/register-ts');
    const loaded = require(file) as { default?: unknown };
    return loaded.default ?? loaded;
  }
  throw new ManifestError(file, '', 'expected hostmesh.json, hostmesh.config.ts or hostmesh.config.js');
}

function describePath(error: ErrorObject): string {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'additionalProperties') segments.push(String(error.params.additionalProperty));
  if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
  return segments.join('.');
}

function describeSchemaError(error: ErrorObject): string {
  switch (error.keyword) {
    case 'additionalProperties':
      return 'is not a known field';
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of ${(error.params.allowedValues as string[]).join(', ')}`;
    case 'propertyNames':
      return `has a name that is not allowed (${error.message})`;
    default:
      return error.message ?? 'is invalid';
  }
}
