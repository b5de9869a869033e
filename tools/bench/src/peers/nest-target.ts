import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import type { BenchTarget } from '../targets';

type NestObject = { op: string; id: number; data: string };

/**
 * A NestJS TCP client (ClientProxy.send). Nest's TCP transport frames JSON, so the
 * payload goes as base64 text, as a Nest user would send bytes; the object shape is a
 * JSON object with that text as its `data`.
 */
export async function nestTarget(port: number, quick: boolean): Promise<BenchTarget> {
  const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await client.connect();
  const encoded = new WeakMap<Buffer, string>();
  // The bench sends one payload Buffer many times: encoding it once measures Nest, not base64.
  const base64 = (payload: Buffer) => {
    let text = encoded.get(payload);
    if (text === undefined) {
      text = payload.toString('base64');
      encoded.set(payload, text);
    }
    return text;
  };
  return {
    name: 'NestJS TCP',
    // Measured on a 2-vCPU machine: 30 s to minutes of churn before Nest drops the connection.
    skips: (_workload, size) =>
      quick && size >= 1 << 20
        ? 'in a quick run: NestJS TCP takes 30 s or more at 64 × 1 MiB in flight before it closes the connection; the full run measures it'
        : undefined,
    roundTrip: (payload) => firstValueFrom(client.send<string, string>('echo', base64(payload))),
    roundTripObject: ({ op, id, data }) => firstValueFrom(client.send<NestObject, NestObject>('echo', { op, id, data: base64(data) })),
    close: async () => client.close(),
  };
}
