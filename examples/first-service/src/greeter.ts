import { bootstrap, defineContract, Endpoint, Mesh, Service } from '@hostmesh/framework';

export interface GreeterApi {
  greet(name: string): string;
}
export const Greeter = defineContract<GreeterApi>('greeter');

@Service(Greeter)
export class GreeterService implements GreeterApi {
  @Endpoint({ timeoutMs: 500 })
  greet(name: string): string {
    return `Hello, ${name}!`;
  }
}

if (process.argv[2] === 'call') {
  // A client in another process: finds the service in the registry, calls it over the mechanism it announced (shared memory here).
  const mesh = Mesh.connect();
  const greeting = mesh.client(Greeter).greet(process.argv[3] ?? 'world');
  greeting.then(console.log, console.error).finally(() => mesh.close());
} else {
  void bootstrap(GreeterService); // serve until Ctrl-C, then drain and exit
}
