import { describeError } from '@hostmesh/framework';
import { eventPayload, parseJson, publishByName } from './by-name';
import { meshOf, type TargetOptions } from './context';

/** `hostmesh emit <event> <json>`: publishes an event by name to every subscriber, for manual testing. */
export async function emit(event: string, json: string, options: TargetOptions & { priority?: number; timeoutMs?: number }): Promise<number> {
  const payload = eventPayload(parseJson(json, 'the event'));
  const mesh = meshOf(options);
  try {
    const delivered = await publishByName(mesh, event, payload, options);
    process.stdout.write(`${event} published to ${delivered} subscriber(s)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await mesh.close(1000);
  }
}
