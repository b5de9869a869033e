import { describeError } from '@hostmesh/framework';
import { meshOf, targetNamespace, type TargetOptions } from './context';

/** `hostmesh emit <event> <json>`: publishes an event by name to every subscriber, for manual testing. */
export async function emit(event: string, json: string, options: TargetOptions & { priority?: number; timeoutMs?: number }): Promise<number> {
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (error) {
    throw new Error(`the event is not JSON: ${(error as Error).message}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Error('the event must be a JSON object');
  const mesh = meshOf(options);
  try {
    const delivered = await mesh.events.publishNamed(event, payload as object, { priority: options.priority, timeoutMs: options.timeoutMs });
    if (delivered === 0) {
      // Most often a typo: say which events do have subscribers, and fail.
      const known = new Set<string>();
      for (const descriptor of await mesh.registry.listAll()) for (const subscription of descriptor.subscriptions) known.add(subscription.event);
      for (const record of await mesh.registry.listSubscriptions()) for (const name of record.events) known.add(name);
      const namespace = targetNamespace(options);
      process.stderr.write(
        `no service subscribes to '${event}' in namespace '${namespace}'; events with subscribers: ${[...known].sort().join(', ') || 'none'}\n`,
      );
      return 1;
    }
    process.stdout.write(`${event} published to ${delivered} subscriber(s)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await mesh.close(1000);
  }
}
