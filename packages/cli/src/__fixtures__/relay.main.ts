import 'reflect-metadata';
import { bootstrap, type Client, clientOf, defineContract, Endpoint, inject, Service } from '@hostmesh/framework';
import { Echo, type EchoApi } from './echo.contract';

export interface RelayApi {
  /** Its own pid and the pid echo answers with: equal when both run in one group's process. */
  pids(): Promise<{ relay: number; echo: number }>;
  /** Ends its thread (or process) with `code` right after answering. */
  quit(code: number): void;
}
export const Relay = defineContract<RelayApi>('relay');

/** A service for supervisor tests that calls another: echo, in the same group or elsewhere. */
@Service(Relay)
class RelayService implements RelayApi {
  constructor(@inject(clientOf(Echo)) private readonly echo: Client<EchoApi>) {}

  @Endpoint()
  async pids(): Promise<{ relay: number; echo: number }> {
    return { relay: process.pid, echo: await this.echo.ping() };
  }

  @Endpoint()
  quit(code: number): void {
    setTimeout(() => process.exit(code), 10);
  }
}

void bootstrap(RelayService);
