import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import type { BenchTarget } from '../targets';

/**
 * A NestJS TCP client (ClientProxy.send). Nest's TCP transport frames JSON, so the
 * payload goes as base64 text, as a Nest user would send bytes.
 */
export async function nestTarget(port: number): Promise<BenchTarget> {
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await client.connect();
  const encoded = new WeakMap<Buffer, string>();
  return {
    name: 'NestJS TCP',
    roundTrip: (payload) => {
      let text = encoded.get(payload);
      if (text === undefined) {
        text = payload.toString('base64');
        encoded.set(payload, text);
      }
      return firstValueFrom(client.send<string, string>('echo', text));
    },
    close: async () => client.close(),
  };
}
