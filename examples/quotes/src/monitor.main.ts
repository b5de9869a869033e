import { bootstrap, registerErrorType } from '@hostmesh/framework';
import { auditModule } from './audit.module';
import { UnknownSymbolError } from './contracts';
import { MonitorService } from './monitor.service';

registerErrorType(UnknownSymbolError);
void bootstrap(MonitorService, { modules: [auditModule] });
