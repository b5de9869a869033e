import type { ServicePlan } from './manifest';
import { ManifestError } from './manifest-error';

/** Services sorted so each comes after what it depends on; a cycle is named in full. */
export function startOrder(file: string, services: ServicePlan[]): ServicePlan[] {
  const byName = new Map(services.map((service) => [service.name, service]));
  const ordered: ServicePlan[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (service: ServicePlan, path: string[]) => {
    if (state.get(service.name) === 'done') return;
    if (state.get(service.name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(service.name)), service.name];
      throw new ManifestError(file, `services.${service.name}.dependsOn`, `dependency cycle: ${cycle.join(' → ')}`);
    }
    state.set(service.name, 'visiting');
    for (const dependency of service.dependsOn) visit(byName.get(dependency)!, [...path, service.name]);
    state.set(service.name, 'done');
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}
