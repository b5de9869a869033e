import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Mesh, RuntimeDir } from '@hostmesh/framework';
import { manifestNamespace } from '../manifest/load-manifest';

export interface TargetOptions {
  namespace?: string;
  runtimeDir?: string;
  manifest?: string;
}

/**
 * Which namespace a command acts on: --namespace, else the manifest's (./hostmesh.json
 * when present), else HOSTMESH_NAMESPACE, else 'default'.
 */
export function targetNamespace(options: TargetOptions): string {
  if (options.namespace) return options.namespace;
  const manifest = options.manifest ?? (existsSync('hostmesh.json') ? 'hostmesh.json' : undefined);
  if (manifest) return manifestNamespace(resolve(manifest));
  return process.env.HOSTMESH_NAMESPACE ?? 'default';
}

export function runtimeOf(options: TargetOptions): RuntimeDir {
  return RuntimeDir.open(options.runtimeDir, targetNamespace(options));
}

export function meshOf(options: TargetOptions): Mesh {
  return Mesh.connect({ namespace: targetNamespace(options), runtimeDir: options.runtimeDir, logLevel: 'silent' });
}
