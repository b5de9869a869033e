import { defineContract, describeError, type Mesh, ServiceUnavailableError } from '@hostmesh/framework';
import { readState } from '../supervisor/state-file';
import { meshOf, nothingRunning, runtimeOf, targetNamespace, type TargetOptions } from './context';

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
    await mustBeComing(mesh, service, options);
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

/**
 * A call to a service that is not running and that no supervisor is (re)starting would only
 * wait out its timeout: fail at once, saying what does run and how to start it.
 */
export async function mustBeComing(mesh: Mesh, service: string, options: TargetOptions): Promise<void> {
  if ((await mesh.registry.lookup(service)).length > 0) return;
  const state = readState(runtimeOf(options));
  // A running supervisor that lists it and has not given up on it will (re)start it: wait, as a
  // client would (it may be starting, restarting after a crash, or between a group's drain and restart).
  if (state && state.state !== 'stopping' && state.instances.some((i) => i.service === service && i.state !== 'failed')) return;
  const namespace = targetNamespace(options);
  const running = [...new Set((await mesh.registry.listAll()).map((d) => d.service))].sort();
  if (!state && running.length === 0) {
    throw new ServiceUnavailableError(`no instance of '${service}' runs: ${nothingRunning(namespace, options)}; start it with \`hostmesh up\``);
  }
  const why = running.length > 0 ? `services running there: ${running.join(', ')}` : 'its deployment has no service running';
  throw new ServiceUnavailableError(`no instance of '${service}' runs in namespace '${namespace}' (${why})`);
}
