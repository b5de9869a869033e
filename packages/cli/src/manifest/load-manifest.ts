import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, relative, resolve } from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import schema from './hostmesh.schema.json';
import type { Deployment, Manifest, ServicePlan } from './manifest';
import { ManifestError } from './manifest-error';
import { startOrder } from './start-order';

const validate = new Ajv({ allErrors: true, strict: false }).compile<Manifest>(schema);

/**
 * Reads hostmesh.json (or a hostmesh.config.ts/.js exporting the manifest), checks it
 * against the JSON Schema and then for what a schema cannot say (entry files exist,
 * dependencies name services, no cycles). Every problem names the file, the JSON path
 * and what was expected.
 */
export function loadManifest(path: string, env: NodeJS.ProcessEnv = process.env): Deployment {
  const file = resolve(path);
  if (!existsSync(file)) throw new ManifestError(file, '', 'the manifest file does not exist');
  const raw = readManifest(file);
  if (!validate(raw)) throw new ManifestError(file, describePath(validate.errors![0]!), describeSchemaError(validate.errors![0]!), validate.errors!.map((e) => `${describePath(e) || '(root)'} ${describeSchemaError(e)}`));
  const manifest = raw;
  if (Object.keys(manifest.services).length === 0) {
    throw new ManifestError(file, 'services', 'has no services yet: add one with `nx g @hostmesh/framework:service <name>`');
  }
  const base = dirname(file);
  const services: ServicePlan[] = [];
  for (const [name, entry] of Object.entries(manifest.services)) {
    const entryFile = resolve(base, entry.entry);
    if (!existsSync(entryFile) || !statSync(entryFile).isFile()) {
      throw new ManifestError(file, `services.${name}.entry`, `entry file ${relative(process.cwd(), entryFile) || entryFile} does not exist (build first?)`);
    }
    for (const dependency of entry.dependsOn ?? []) {
      if (!(dependency in manifest.services)) {
        throw new ManifestError(file, `services.${name}.dependsOn`, `'${dependency}' is not a service of this manifest (services: ${Object.keys(manifest.services).join(', ')})`);
      }
    }
    if (entry.host !== undefined && !(manifest.hosts && entry.host in manifest.hosts)) {
      throw new ManifestError(file, `services.${name}.host`, `'${entry.host}' is not a key of hosts`);
    }
    services.push({
      name,
      entry: entryFile,
      replicas: entry.replicas ?? 1,
      env: { ...environmentOf(entry), ...entry.env },
      dependsOn: entry.dependsOn ?? [],
      nodeOptions: entry.nodeOptions ?? [],
    });
  }
  return {
    file,
    namespace: manifest.namespace ?? env.HOSTMESH_NAMESPACE ?? 'default',
    gracePeriodMs: manifest.gracePeriodMs ?? 10_000,
    restart: {
      initialDelayMs: manifest.restart?.initialDelayMs ?? 100,
      maxDelayMs: manifest.restart?.maxDelayMs ?? 10_000,
      maxRestarts: manifest.restart?.maxRestarts ?? 5,
      windowMs: manifest.restart?.windowMs ?? 60_000,
    },
    prometheusPort: manifest.metrics?.prometheusPort,
    services: startOrder(file, services),
  };
}

/** Per-binding overrides and limits reach a service as the HOSTMESH_* variables it reads. */
function environmentOf(entry: Manifest['services'][string]): Record<string, string> {
  const env: Record<string, string> = {};
  if (entry.bindings) env.HOSTMESH_BINDINGS = JSON.stringify(entry.bindings);
  if (entry.shell) env.HOSTMESH_SHELL = entry.shell.join(',');
  if (entry.limits?.shmRingBytes) env.HOSTMESH_SHM_RING_BYTES = String(entry.limits.shmRingBytes);
  if (entry.limits?.mqueueDepth) env.HOSTMESH_MQUEUE_DEPTH = String(entry.limits.mqueueDepth);
  if (entry.limits?.mqueueMessageSize) env.HOSTMESH_MQUEUE_MESSAGE_SIZE = String(entry.limits.mqueueMessageSize);
  if (entry.limits?.maxPayloadBytes) env.HOSTMESH_MAX_PAYLOAD_BYTES = String(entry.limits.maxPayloadBytes);
  return env;
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
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
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
