import type { Deployment, ServicePlan } from '../manifest/manifest';
import type { Supervisor } from '../supervisor/supervisor';
import { outputFingerprint } from './output-fingerprint';
import { Rebuilder } from './rebuilder';

/** What a plan runs: its entry's code, or every member's for a group. */
function fingerprintOf(plan: ServicePlan): string {
  return plan.members ? plan.members.map((member) => outputFingerprint(member.entry)).join(',') : outputFingerprint(plan.entry);
}

/**
 * `up --watch`: after each successful rebuild, restarts the services whose code changed (and
 * only those), in dependency order, each drained first; the others keep serving. A failed
 * build is shown and changes nothing: the running version stays up.
 */
export function watchDeployment(
  supervisor: Supervisor,
  deployment: Deployment,
  rebuilder: { root: string; command: string },
  note: (line: string, stream?: 'out' | 'err') => void,
): Rebuilder {
  const running = new Map(deployment.services.map((plan) => [plan, fingerprintOf(plan)]));
  const watcher = new Rebuilder(rebuilder.root, rebuilder.command, async ({ ok, output, changed }) => {
    const what = changed.slice(0, 3).join(', ') + (changed.length > 3 ? ` and ${changed.length - 3} more` : '');
    if (!ok) {
      note(`build failed after ${what} changed; still running the previous version:\n${output}`, 'err');
      return;
    }
    const stale = deployment.services.filter((plan) => fingerprintOf(plan) !== running.get(plan));
    if (stale.length === 0) {
      note(`rebuilt after ${what} changed: no service's code changed`);
      return;
    }
    note(`rebuilt after ${what} changed: restarting ${stale.map((plan) => plan.name).join(', ')}`);
    for (const plan of stale) {
      running.set(plan, fingerprintOf(plan));
      const ready = await supervisor.restart(plan);
      note(ready ? `${plan.name} restarted with the new build` : `${plan.name} did not become ready after the rebuild`, ready ? 'out' : 'err');
    }
  });
  watcher.start((error) => note(`a source watch stopped: ${error.message}`, 'err'));
  note(`watching ${rebuilder.root} (build: ${rebuilder.command})`);
  return watcher;
}
