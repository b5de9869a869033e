import { bootstrap, registerErrorType } from '@hostmesh/framework';
import { UnknownSymbolError } from './contracts';
import { MonitorService } from './monitor.service';

registerErrorType(UnknownSymbolError);
void bootstrap(MonitorService);
