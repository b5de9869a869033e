import { bootstrap, registerErrorType } from '@hostmesh/framework';
import { UnknownSymbolError } from './contracts';
import { PricingService } from './pricing.service';

registerErrorType(UnknownSymbolError);
void bootstrap(PricingService);
