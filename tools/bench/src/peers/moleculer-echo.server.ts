import { ServiceBroker, type Context } from 'moleculer';
import { loopbackTransporter, MOLECULER_SERVER_NODE } from './moleculer-target';

/**
 * The moleculer peer: a broker with an `echo` service on the TCP transporter, listening
 * on 127.0.0.1:<port> only, no UDP discovery (the client lists this node in its `urls`
 * and introduces itself by gossip), logger off, default JSON serializer.
 */
async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: moleculer-echo.server <port>');
  const broker = new ServiceBroker({ nodeID: MOLECULER_SERVER_NODE, transporter: loopbackTransporter(port), logger: false });
  broker.createService({
    name: 'echo',
    actions: {
      // With the JSON serializer a Buffer arrives as { type: 'Buffer', data: number[] }: sent back as it came.
      echo: (ctx: Context<unknown>) => ctx.params,
    },
  });
  await broker.start();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => void broker.stop().finally(() => process.exit(0)));
}

main().catch((error: Error) => {
  process.stderr.write(`moleculer-echo.server: ${error.message}\n`);
  process.exit(1);
});
