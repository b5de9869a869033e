import type { DiagnosticSnapshot } from '@hostmesh/framework/internal';

export type InstanceState = 'starting' | 'ready' | 'backoff' | 'stopping' | 'stopped' | 'failed' | 'remote';

/** One service instance as the supervisor sees it; what `hostmesh ps` prints. */
export interface InstanceStatus {
  service: string;
  /** The replica number the supervisor gave it, or the name a service started on its own announced. */
  instance: number | string;
  pid: number | undefined;
  /** The group whose process it runs in, with the group's other services (one pid, restarted together). */
  group?: string;
  state: InstanceState;
  restarts: number;
  startedAt: string | undefined;
  lastExit: string | undefined;
  /** A failed instance's last lines on stderr (at most 5): why it did not start. */
  lastErrors?: string[];
  /** Calls per second over the last health interval, all endpoints together. */
  callsPerSecond: number;
  health: DiagnosticSnapshot | undefined;
  /** A service on another host: where its binding goes (`via: 'nats'`: heard of over NATS, `address` is its subject). */
  remote?: { host: string; address: string; tls: boolean; via?: 'nats' };
}

/** `<runtime>/<namespace>/supervisor.json`, rewritten atomically on every change. */
export interface SupervisorState {
  schema: 1;
  pid: number;
  startTime: number;
  namespace: string;
  manifest: string;
  startedAt: string;
  state: 'starting' | 'running' | 'stopping';
  instances: InstanceStatus[];
}
