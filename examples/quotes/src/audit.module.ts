import { ContainerModule } from '@hostmesh/framework';
import { AuditLog } from './audit-log';

/** The example's own bindings, loaded into each service's container. */
export const auditModule = new ContainerModule(({ bind }) => {
  bind(AuditLog).toSelf().inSingletonScope();
});
