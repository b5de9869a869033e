import type { BindingRequest } from '@hostmesh/framework';

/** hostmesh.json, as schema/hostmesh.schema.json describes it. */
export interface Manifest {
  namespace?: string;
  gracePeriodMs?: number;
  restart?: { initialDelayMs?: number; maxDelayMs?: number; maxRestarts?: number; windowMs?: number };
  metrics?: { prometheusPort?: number };
  hosts?: Record<string, { address: string }>;
  services: Record<string, ServiceEntry>;
}

export interface ServiceEntry {
  entry: string;
  replicas?: number;
  env?: Record<string, string>;
  dependsOn?: string[];
  bindings?: Record<string, BindingRequest>;
  shell?: string[];
  limits?: { maxPayloadBytes?: number; shmRingBytes?: number; mqueueDepth?: number; mqueueMessageSize?: number };
  host?: string;
  nodeOptions?: string[];
}

/** A manifest after loading: paths resolved, defaults applied, start order known. */
export interface Deployment {
  file: string;
  namespace: string;
  gracePeriodMs: number;
  restart: { initialDelayMs: number; maxDelayMs: number; maxRestarts: number; windowMs: number };
  prometheusPort: number | undefined;
  services: ServicePlan[];
}

export interface ServicePlan {
  name: string;
  entry: string;
  replicas: number;
  env: Record<string, string>;
  dependsOn: string[];
  nodeOptions: string[];
}

/** Typed manifests in hostmesh.config.ts: `export default defineManifest({ … })`. */
export function defineManifest(manifest: Manifest): Manifest {
  return manifest;
}
