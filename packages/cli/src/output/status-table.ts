import type { InstanceStatus } from '../supervisor/state';
import { callersView, seenByCallers } from './replica-health';
import { duration, micros, styler, table } from './style';

/**
 * The rows of `hostmesh ps` and of the live view of `hostmesh up`. The callers' view of each
 * instance (breaker, their calls in flight, ejections) and the retries line appear only once
 * some caller balances across replicas: most deployments have none, and keep a narrow table.
 */
export function statusTable(instances: InstanceStatus[], stream: NodeJS.WriteStream): string {
  const style = styler(stream);
  const callers = callersView(instances);
  const breakerColor = (state: string) => (state === 'open' ? style.red(state) : state === 'half-open' ? style.yellow(state) : state);
  const color = (state: string) =>
    state === 'ready' ? style.green(state) : state === 'failed' ? style.red(state) : state === 'stopped' ? style.dim(state) : style.yellow(state);
  const rows = instances.map((instance) => {
    const health = instance.health;
    const endpoints = health?.endpoints ?? [];
    const busiest = [...endpoints].sort((a, b) => b.calls - a.calls)[0];
    const mechanisms = [...endpoints.map((e) => `${e.name.split('.').pop()}:${e.mechanism}`), ...(health?.events ?? []).map((e) => `${e.name}:${e.mechanism}`)];
    // A replica's own partition of the events with an ordering key follows the shared queue.
    const queues = (health?.transports ?? [])
      .filter((t) => t.kind === 'mqueue')
      .map((t) => {
        const partition = t.partition as { messages?: number; depth?: number } | undefined;
        return `${t.messages}/${t.depth}${partition ? ` p${instance.instance}:${partition.messages}/${partition.depth}` : ''}`;
      });
    return [
      instance.remote && instance.remote.via !== 'nats' ? instance.service : `${instance.service}@${instance.instance}`,
      // The services of a group share their process: its pid, marked with the group's name.
      instance.pid === undefined ? '-' : instance.group ? `${instance.pid} (${instance.group})` : String(instance.pid),
      color(instance.state),
      instance.startedAt && instance.state !== 'stopped' && instance.state !== 'failed' ? duration((Date.now() - Date.parse(instance.startedAt)) / 1000) : '-',
      String(instance.restarts),
      health ? String(health.inFlight) : '-',
      instance.callsPerSecond.toFixed(0),
      busiest && busiest.calls > 0 ? `${micros(busiest.p50Us)}/${micros(busiest.p99Us)}` : '-',
      queues.join(' ') || '-',
      ...(callers.any ? callersCells(seenByCallers(callers, instance), breakerColor) : []),
      instance.remote
        ? `${instance.remote.via ?? (instance.remote.tls ? 'tcp+tls' : 'tcp')} → ${instance.remote.address} (host ${instance.remote.host})`
        : mechanisms.join(' ') || '-',
    ];
  });
  const headers = ['SERVICE', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'IN-FLIGHT', 'CALLS/S', 'P50/P99', 'QUEUE'];
  if (!callers.any) return table([...headers, 'BINDINGS'], rows);
  const { made, refused } = callers.retries;
  return `${table([...headers, 'BREAKER', 'CALLERS-IN-FLIGHT', 'EJECTIONS', 'BINDINGS'], rows)}\n\nretries by callers: ${made} (${refused} refused by the retry budget)`;
}

function callersCells(seen: ReturnType<typeof seenByCallers>, color: (state: string) => string): string[] {
  return seen ? [color(seen.breaker), String(seen.inFlight), String(seen.ejections)] : ['-', '-', '-'];
}
