export { Service } from './service.decorator';
export { Endpoint } from './endpoint.decorator';
export { EventType } from './event-type.decorator';
export { On } from './on.decorator';
export { OnStart } from './on-start.decorator';
export { OnStop } from './on-stop.decorator';
export { OnSignal } from './on-signal.decorator';
export { Ctx } from './ctx.decorator';
export { UseGuards, UseInterceptors } from './use.decorators';
