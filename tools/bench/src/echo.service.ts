import { bootstrap, Endpoint, Service } from '@hostmesh/framework';
import { Echo, type EchoApi } from './targets';

@Service(Echo)
class EchoService implements EchoApi {
  @Endpoint()
  echo(payload: Buffer): Buffer {
    return payload;
  }
}

// Mechanism, namespace and runtime directory come from the HOSTMESH_* variables the bench sets.
void bootstrap(EchoService);
