export { program, CLI_ROOT } from './program';
export { loadManifest } from './manifest/load-manifest';
export { ManifestError } from './manifest/manifest-error';
export { defineManifest, type Manifest, type ServiceEntry, type Deployment, type ServicePlan } from './manifest/manifest';
export { Supervisor } from './supervisor/supervisor';
export type { SupervisorState, InstanceStatus } from './supervisor/state';
