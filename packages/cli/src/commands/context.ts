import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Mesh, RuntimeDir } from '@hostmesh/framework';
import { manifestNamespace } from '../manifest/load-manifest';
import { readState } from '../supervisor/state-file';

export interface TargetOptions {
  namespace?: string;
  runtimeDir?: string;
  manifest?: string;
}

/**
 * Which namespace a command acts on: --namespace; else the manifest's (--manifest, or a
 * hostmesh.json in this directory or a parent); else HOSTMESH_NAMESPACE; else the one
 * deployment this user runs (so `hostmesh ps` beside `npm start` finds it from anywhere);
 * else 'default'.
 */
export function targetNamespace(options: TargetOptions): string {
  if (options.namespace) return options.namespace;
  const manifest = options.manifest ?? findManifest(process.cwd());
  if (manifest) return manifestNamespace(resolve(manifest));
  if (process.env.HOSTMESH_NAMESPACE) return process.env.HOSTMESH_NAMESPACE;
  const running = runningNamespaces(options);
  return running.length === 1 ? running[0]! : 'default';
}

function findManifest(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'hostmesh.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Namespaces of the runtime base with a live supervisor. */
export function runningNamespaces(options: TargetOptions): string[] {
  const base = options.runtimeDir ?? RuntimeDir.defaultBase();
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  return names.filter((name) => existsSync(join(base, name, 'supervisor.json')) && readState(new RuntimeDir(base, name)) !== undefined).sort();
}

/** `nothing is running in namespace 'x'`, naming the namespaces where something does run. */
export function nothingRunning(namespace: string, options: TargetOptions): string {
  const elsewhere = runningNamespaces(options).filter((name) => name !== namespace);
  return `nothing is running in namespace '${namespace}'${elsewhere.length ? ` (running: ${elsewhere.join(', ')}; choose one with -n)` : ''}`;
}

export function runtimeOf(options: TargetOptions): RuntimeDir {
  return RuntimeDir.open(options.runtimeDir, targetNamespace(options));
}

export function meshOf(options: TargetOptions): Mesh {
  return Mesh.connect({ namespace: targetNamespace(options), runtimeDir: options.runtimeDir, logLevel: 'silent' });
}
