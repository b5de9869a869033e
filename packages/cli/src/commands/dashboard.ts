import { DashboardServer, type DashboardOptions } from '../dashboard/dashboard-server';
import { targetNamespace } from './context';

/** `hostmesh dashboard`: serves the live page until Ctrl-C; prints its URL (with its token) first. */
export async function dashboard(options: DashboardOptions): Promise<number> {
  const namespace = targetNamespace(options);
  const server = await DashboardServer.listen({ ...options, namespace });
  process.stdout.write(`hostmesh dashboard of namespace '${namespace}': ${server.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
