import { describeError } from '@hostmesh/framework';
import { callByName, parseJson, splitTarget } from './by-name';
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
  splitTarget(target);
  let args: unknown[] = [];
  if (json !== undefined) {
    const value = parseJson(json, 'the argument');
    if (options.args && !Array.isArray(value)) throw new Error('--args expects a JSON array of arguments');
    args = options.args ? (value as unknown[]) : [value];
  }
  const mesh = meshOf(options);
  try {
    const result = await callByName(mesh, target, args, options);
    process.stdout.write(JSON.stringify(result, null, options.json ? 0 : 2) + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  } finally {
    await mesh.close(0);
  }
}
