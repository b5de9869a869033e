import type { Manifest, ServicePlan } from './manifest';
import { ManifestError } from './manifest-error';
import { startOrder } from './start-order';

/**
 * Services that name a `group` become one plan: one process per replica running each of them
 * in a worker thread. What the process shares has to agree among them (replicas, node flags,
 * host); dependencies on a member become dependencies on its group, and members start in the
 * order their dependencies on each other give.
 */
export function groupServices(file: string, manifest: Manifest, plans: ServicePlan[], groupEnv: Record<string, string>): ServicePlan[] {
  const groupOf = new Map<string, string>();
  for (const plan of plans) {
    const group = manifest.services[plan.name]!.group;
    if (group !== undefined) groupOf.set(plan.name, group);
  }
  if (groupOf.size === 0) return plans;
  const field = (service: string, name: string) => `services.${service}.${name}`;
  const members = new Map<string, ServicePlan[]>();
  for (const plan of plans) {
    const group = groupOf.get(plan.name);
    if (group === undefined) continue;
    if (group in manifest.services) {
      throw new ManifestError(
        file,
        field(plan.name, 'group'),
        `'${group}' is also a service's name: name the group apart (it names the group's process and log)`,
      );
    }
    const first = members.get(group)?.[0];
    if (first) {
      if (plan.replicas !== first.replicas) {
        throw new ManifestError(
          file,
          field(plan.name, 'replicas'),
          `is ${plan.replicas}, but ${first.name} of the same group '${group}' has ${first.replicas}: a group runs as one process per replica`,
        );
      }
      if (JSON.stringify(plan.nodeOptions) !== JSON.stringify(first.nodeOptions)) {
        throw new ManifestError(
          file,
          field(plan.name, 'nodeOptions'),
          `must be the same as ${first.name}'s: the services of group '${group}' share one node process`,
        );
      }
    }
    members.set(group, [...(members.get(group) ?? []), plan]);
  }
  const hostOf = new Map<string, { service: string; host: string | undefined }>();
  for (const [name, entry] of Object.entries(manifest.services)) {
    if (entry.group === undefined) continue;
    const first = hostOf.get(entry.group);
    if (!first) hostOf.set(entry.group, { service: name, host: entry.host });
    else if (first.host !== entry.host) {
      throw new ManifestError(
        file,
        field(name, 'host'),
        `is ${entry.host ?? 'unset'}, but ${first.service} of the same group '${entry.group}' has ${first.host ?? 'none'}: a group runs as one process, on one host`,
      );
    }
  }
  const nodeOf = (service: string) => groupOf.get(service) ?? service;
  const result: ServicePlan[] = [];
  const emitted = new Set<string>();
  for (const plan of plans) {
    const group = groupOf.get(plan.name);
    if (group === undefined) {
      result.push({ ...plan, dependsOn: unique(plan.dependsOn.map(nodeOf)) });
      continue;
    }
    if (emitted.has(group)) continue;
    emitted.add(group);
    const inside = members.get(group)!;
    const names = new Set(inside.map((m) => m.name));
    const ordered = startOrder(
      file,
      inside.map((m) => ({ ...m, dependsOn: m.dependsOn.filter((d) => names.has(d)) })),
    );
    // The members travel to the group's process in one variable, which Linux caps (MAX_ARG_STRLEN).
    const size = JSON.stringify(inside.map((m) => m.env)).length;
    if (size > 100_000) {
      throw new ManifestError(
        file,
        field(inside[0]!.name, 'group'),
        `'${group}': its services' environments take ${size} bytes; a group's must fit in 100000 (one variable)`,
      );
    }
    result.push({
      name: group,
      entry: '',
      replicas: inside[0]!.replicas,
      env: groupEnv,
      dependsOn: unique(inside.flatMap((m) => m.dependsOn.filter((d) => !names.has(d)).map(nodeOf))),
      nodeOptions: inside[0]!.nodeOptions,
      members: ordered.map((m) => ({ name: m.name, entry: m.entry, env: m.env })),
    });
  }
  return result;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
