import { defineContract, describeError } from '@hostmesh/framework';
import { meshOf, type TargetOptions } from './context';

/**
 * `hostmesh call <service>.<endpoint> [json]`: one call through the same typed client a
 * service would use (and over the mechanism the service announces), for manual testing.
 * The JSON is the single argument; with --args it is the argument list.
 */
export async function call(
  target: string,
  json: string | undefined,
  options: TargetOptions & { args?: boolean; timeoutMs?: number; json?: boolean },
): Promise<number> {
  const dot = target.lastIndexOf('.');
  if (dot <= 0 || dot === target.length - 1) throw new Error(`expected <service>.<endpoint>, got '${target}'`);
  const [service, endpoint] = [target.slice(0, dot), target.slice(dot + 1)];
  let args: unknown[] = [];
  if (json !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new Error(`the argument is not JSON: ${(error as Error).message}`);
    }
    if (options.args && !Array.isArray(value)) throw new Error('--args expects a JSON array of arguments');
    args = options.args ? (value as unknown[]) : [value];
  }
  const mesh = meshOf(options);
  try {
    const client = mesh.client(defineContract<Record<string, (...args: unknown[]) => unknown>>(service)).$with({ timeoutMs: options.timeoutMs ?? 5000 });
    const result = await (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[endpoint]!(...args);
    process.stdout.write(JSON.stringify(result, null, options.json ? 0 : 2) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await mesh.close(0);
  }
}
