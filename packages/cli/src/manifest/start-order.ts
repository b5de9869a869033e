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
      const group = cycle.map((name) => byName.get(name)!).find((plan) => plan.members);
      if (group) {
        // Only the groups make it a cycle: a group starts as one process, after all its members' dependencies.
        const label = (name: string) => {
          const plan = byName.get(name)!;
          return plan.members ? `group ${name} (${plan.members.map((m) => m.name).join(', ')})` : name;
        };
        throw new ManifestError(
          file,
          `services.${group.members![0]!.name}.group`,
          `makes a dependency cycle between processes: ${cycle.map(label).join(' → ')}; a group starts as one process, after what any of its services depends on`,
        );
      }
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
