import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { join } from 'node:path';
import { Mesh } from '../runtime/mesh';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { TraceAudit, TraceFront, TraceStock } from './fixtures/trace.contract';
import { registerTracing, type SpanRecord } from './fixtures/tracing-sdk';

// This process records its own spans (the client's) with the real SDK, as the services do theirs.
const clientSpans = registerTracing();

describe('OpenTelemetry across three processes: test → front over shm → stock over uds → audit over a message queue', () => {
  const runtime = tempRuntimeDir();
  const namespace = 'tracing';
  const children: SpawnedService[] = [];
  let mesh: Mesh;

  beforeAll(async () => {
    const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace };
    for (const service of ['trace-audit', 'trace-stock', 'trace-front']) {
      children.push(await spawnService(join(__dirname, 'fixtures', `${service}.main.ts`), { env, ready: { service, runtimeDir: runtime.path, namespace } }));
    }
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  }, 60_000);

  afterAll(async () => {
    await mesh?.close(0);
    for (const child of children) await child.kill();
    runtime.remove();
  });

  /** Every span of one trace, from all four processes (the audit's once its consumer span is there). */
  async function traceOf(traceId: string, expected: number): Promise<SpanRecord[]> {
    let spans: SpanRecord[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      const remote = await Promise.all([mesh.client(TraceFront).spans(), mesh.client(TraceStock).spans(), mesh.client(TraceAudit).spans()]);
      spans = [...clientSpans(), ...remote.flat()].filter((span) => span.traceId === traceId);
      if (spans.length >= expected) break;
      await sleep(20);
    }
    return spans;
  }

  const named = (spans: SpanRecord[], kind: SpanKind, name: string) => {
    const found = spans.filter((span) => span.kind === kind && span.name === name);
    expect({ kind, name, count: found.length }).toEqual({ kind, name, count: 1 });
    return found[0]!;
  };

  it('makes one trace with client, server, producer and consumer spans linked parent to child', async () => {
    await expect(mesh.client(TraceFront).order('ACME')).resolves.toBe('ordered: reserved ACME');
    const root = clientSpans().find((span) => span.name === 'trace-front/order' && span.kind === SpanKind.CLIENT)!;
    expect(root.parentSpanId).toBeUndefined();
    const spans = await traceOf(root.traceId, 6);
    expect(spans).toHaveLength(6);

    const frontServer = named(spans, SpanKind.SERVER, 'trace-front/order');
    const stockClient = named(spans, SpanKind.CLIENT, 'trace-stock/reserve');
    const stockServer = named(spans, SpanKind.SERVER, 'trace-stock/reserve');
    const publish = named(spans, SpanKind.PRODUCER, 'publish stock.reserved');
    const consume = named(spans, SpanKind.CONSUMER, 'process stock.reserved');
    expect(frontServer.parentSpanId).toBe(root.spanId);
    expect(stockClient.parentSpanId).toBe(frontServer.spanId);
    expect(stockServer.parentSpanId).toBe(stockClient.spanId);
    expect(publish.parentSpanId).toBe(stockServer.spanId);
    expect(consume.parentSpanId).toBe(publish.spanId);
    expect(consume.links).toEqual([publish.spanId]);

    expect(root.attributes).toEqual({ 'rpc.system': 'hostmesh', 'rpc.service': 'trace-front', 'rpc.method': 'order', 'hostmesh.mechanism': 'shm' });
    expect(frontServer.attributes).toMatchObject({ 'rpc.service': 'trace-front', 'rpc.method': 'order', 'hostmesh.mechanism': 'shm' });
    expect(stockClient.attributes).toMatchObject({ 'rpc.service': 'trace-stock', 'rpc.method': 'reserve', 'hostmesh.mechanism': 'uds' });
    expect(stockServer.attributes).toMatchObject({ 'hostmesh.mechanism': 'uds' });
    expect(publish.attributes).toMatchObject({
      'messaging.system': 'hostmesh',
      'messaging.destination.name': 'stock.reserved',
      'messaging.operation.type': 'send',
    });
    expect(consume.attributes).toMatchObject({
      'messaging.destination.name': 'stock.reserved',
      'messaging.operation.type': 'process',
      'messaging.message.id': publish.attributes['messaging.message.id'],
      'hostmesh.mechanism': 'mqueue',
    });
    for (const span of spans) expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(await mesh.client(TraceAudit).seen()).toContain('ACME');
  });

  it('records a failed call as error spans with its code, from the service that threw to the first caller', async () => {
    await expect(mesh.client(TraceFront).order('NONE')).rejects.toMatchObject({ code: 'SOLD_OUT' });
    const root = clientSpans()
      .filter((span) => span.name === 'trace-front/order')
      .at(-1)!;
    const spans = await traceOf(root.traceId, 4);
    expect(spans.map((span) => `${span.kind}:${span.name}`).sort()).toEqual(
      [
        `${SpanKind.CLIENT}:trace-front/order`,
        `${SpanKind.SERVER}:trace-front/order`,
        `${SpanKind.CLIENT}:trace-stock/reserve`,
        `${SpanKind.SERVER}:trace-stock/reserve`,
      ].sort(),
    );
    for (const span of spans) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NONE is sold out' });
      expect(span.attributes['error.type']).toBe('SOLD_OUT');
    }
  });
});
