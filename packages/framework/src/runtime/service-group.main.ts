import { ServiceGroup, type GroupMember } from './service-group';

// The process `"group"` in a manifest runs: the supervisor gives it the members as JSON in
// HOSTMESH_GROUP, in start order, and its grace period in HOSTMESH_GRACE_PERIOD_MS.
const members = JSON.parse(process.env.HOSTMESH_GROUP ?? '[]') as GroupMember[];
if (!Array.isArray(members) || members.length === 0) {
  process.stderr.write('HOSTMESH_GROUP names no services: this is the process a manifest group runs, started by `hostmesh up`\n');
  process.exit(2);
}
// 30 s for each member to be ready, as the supervisor gives each (a lone service gets as much).
const group = new ServiceGroup(members, { gracePeriodMs: Number(process.env.HOSTMESH_GRACE_PERIOD_MS) || undefined, readyTimeoutMs: 30_000 });
group.handleSignals();
group.start().catch((error: Error) => {
  process.stderr.write(`the group did not start: ${error.message}\n`);
  process.exit(1);
});
