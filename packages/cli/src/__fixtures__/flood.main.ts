import 'reflect-metadata';
import { bootstrap, defineContract, Endpoint, Service } from '@hostmesh/framework';

/** Prints as fast as it can, forever, while serving: the supervisor must keep up or shrug. */
@Service(defineContract<{ ok(): boolean }>('flood'))
class FloodService {
  @Endpoint()
  ok(): boolean {
    return true;
  }
}

void bootstrap(FloodService).then(() => {
  const line = 'flood '.repeat(50) + '\n';
  const spew = () => {
    for (let i = 0; i < 200; i++) process.stdout.write(line);
    setImmediate(spew);
  };
  spew();
});
