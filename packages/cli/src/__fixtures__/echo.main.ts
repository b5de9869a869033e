import 'reflect-metadata';
import { bootstrap, Endpoint, On, Service, EventType } from '@hostmesh/framework';
import { Echo, type EchoApi } from './echo.contract';

@EventType('echo.note')
export class Note {
  constructor(readonly text: string) {}
}

/** A service for supervisor tests: answers with its pid, counts `echo.note` events. */
@Service(Echo)
class EchoService implements EchoApi {
  private notes = 0;

  @Endpoint()
  ping(): number {
    return process.pid;
  }

  @Endpoint()
  received(): number {
    return this.notes;
  }

  @On(Note)
  onNote(): void {
    this.notes++;
  }
}

void bootstrap(EchoService);
