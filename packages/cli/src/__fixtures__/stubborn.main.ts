import 'reflect-metadata';
import { bootstrap, defineContract, Endpoint, Service } from '@hostmesh/framework';

/** Ignores SIGTERM after starting: the supervisor must SIGKILL it after the grace period. */
@Service(defineContract<{ ok(): boolean }>('stubborn'))
class StubbornService {
  @Endpoint()
  ok(): boolean {
    return true;
  }
}

void bootstrap(StubbornService).then(() => {
  process.removeAllListeners('SIGTERM');
  process.on('SIGTERM', () => process.stdout.write('ignoring SIGTERM\n'));
});
