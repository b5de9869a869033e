import type { BindingRequest, EndpointPolicy, ManifestLimitName } from '@hostmesh/framework';

/** hostmesh.json, as schema/hostmesh.schema.json describes it. */
export interface Manifest {
  namespace?: string;
  gracePeriodMs?: number;
  restart?: { initialDelayMs?: number; maxDelayMs?: number; maxRestarts?: number; windowMs?: number };
  metrics?: { prometheusPort?: number };
  hosts?: Record<string, { address: string }>;
  /** Certificate files for mutual TLS between hosts; `{host}` stands for the host running `up`. */
  tls?: { ca: string; cert: string; key: string };
  /** Plain TCP between hosts, without TLS: only for networks trusted end to end. */
  insecure?: boolean;
  /** NATS servers for the services' `nats` bindings and discovery across hosts. */
  nats?: { servers: string[]; tls?: boolean; insecure?: boolean };
  services: Record<string, ServiceEntry>;
}

export interface ServiceEntry {
  entry: string;
  replicas?: number;
  /** Services of one group run in one process, each in a worker thread (see ServiceGroup). */
  group?: string;
  env?: Record<string, string>;
  dependsOn?: string[];
  bindings?: Record<string, BindingRequest>;
  shell?: string[];
  /** Resilience policies per endpoint, over the decorators' (reach the service as HOSTMESH_ENDPOINTS). */
  endpoints?: Record<string, EndpointPolicy>;
  /** Per-service settings of the mesh and its transports (MANIFEST_LIMITS lists them). */
  limits?: Partial<Record<ManifestLimitName, number>>;
  host?: string;
  port?: number;
  nodeOptions?: string[];
}

/** A manifest after loading: paths resolved, defaults applied, start order known. */
export interface Deployment {
  file: string;
  namespace: string;
  gracePeriodMs: number;
  restart: { initialDelayMs: number; maxDelayMs: number; maxRestarts: number; windowMs: number };
  prometheusPort: number | undefined;
  /** The key of `hosts` this `up` runs as (`--host`, HOSTMESH_HOST), if any. */
  host: string | undefined;
  /** What runs here, in start order. */
  services: ServicePlan[];
  /** Services placed on other hosts: announced in the registry so callers here reach them. */
  remote: RemoteService[];
}

export interface RemoteService {
  name: string;
  host: string;
  address: string;
  port: number;
  tls: boolean;
}

/** One process per replica: a service's own, or a group's. */
export interface ServicePlan {
  /** The service's name, or the group's. */
  name: string;
  entry: string;
  replicas: number;
  env: Record<string, string>;
  dependsOn: string[];
  nodeOptions: string[];
  /** A group: its services, in start order, each run in a worker thread of the group's process. */
  members?: MemberPlan[];
}

export interface MemberPlan {
  name: string;
  entry: string;
  env: Record<string, string>;
}

/** Typed manifests in hostmesh.config.ts: `export default defineManifest({ … })`. */
export function defineManifest(manifest: Manifest): Manifest {
  return manifest;
}
