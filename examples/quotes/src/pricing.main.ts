import { bootstrap, registerErrorType } from '@hostmesh/framework';
import { auditModule } from './audit.module';
import { UnknownSymbolError } from './contracts';
import { PricingService } from './pricing.service';

registerErrorType(UnknownSymbolError);
void bootstrap(PricingService, { modules: [auditModule] });
