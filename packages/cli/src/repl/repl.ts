import { start, type REPLServer } from 'node:repl';
import { inspect } from 'node:util';
import { describeError, type Mesh } from '@hostmesh/framework';
import type { ServiceDescriptor } from '@hostmesh/framework/internal';
import { callByName, parseJson, publishByName } from '../commands/by-name';
import { meshOf, targetNamespace, type TargetOptions } from '../commands/context';
import { ps } from '../commands/ps';
import { ReplListener } from './repl-listener';

const COMMANDS: Record<string, string> = {
  call: 'call <service>.<endpoint> [json]   call it with one argument (JSON); the result is printed',
  emit: 'emit <event> <json>                 publish an event by name',
  services: 'services                            the services running, their instances, endpoints and events',
  endpoints: 'endpoints <service>                 its endpoints and the mechanism of each',
  subscribe: 'subscribe <event>                   print each event of that name as it arrives',
  unsubscribe: 'unsubscribe <event>                 stop printing it',
  ps: 'ps                                  what `hostmesh ps` shows',
  help: 'help                                this list (also .help); Tab completes commands, endpoints and events; .exit leaves',
};

export interface ReplOptions extends TargetOptions {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Line editing and Tab completion (default: when the input is a terminal). */
  terminal?: boolean;
}

/**
 * `hostmesh repl`: a node:repl on the running deployment, Moleculer-style: `call`, `emit`,
 * `services`, `endpoints`, `subscribe`, `ps`. Tab completes command names, `service.endpoint`
 * targets, service and event names from the registry. Resolves with 0 when it is left (1 for
 * a script piped in whose commands did not all succeed).
 */
export async function repl(options: ReplOptions): Promise<number> {
  const namespace = targetNamespace(options);
  const mesh = meshOf(options);
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const colors = (output as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  const show = (value: unknown) => (typeof value === 'string' ? value : inspect(value, { colors, depth: 6, breakLength: 100 }));
  let server: REPLServer;
  const listener = new ReplListener(namespace, options.runtimeDir, (event, body) => {
    // Above the prompt, as a log line: what the user was typing stays.
    output.write(`\n${event} ${show({ ...body })}\n`);
    server.displayPrompt(true);
  });
  const context: CommandContext = { mesh, namespace, options, listener, show };
  output.write(`hostmesh repl on namespace '${namespace}': ${Object.keys(COMMANDS).join(', ')} (help for more)\n`);
  // One command at a time, in the order typed (or piped): each waits for the one before.
  let queue: Promise<unknown> = Promise.resolve();
  let failed = 0;
  server = start({
    prompt: `hostmesh:${namespace}> `,
    input,
    output,
    terminal: options.terminal ?? (input as { isTTY?: boolean }).isTTY === true,
    ignoreUndefined: true,
    writer: show,
    eval: (line, _context, _file, done) => {
      queue = queue.then(() =>
        run(line.trim(), context).then(
          (result) => done(null, result),
          (error: unknown) => {
            failed++;
            done(null, `${describeError(error)}`);
          },
        ),
      );
    },
    completer: (line: string, done: (error: Error | null, result: [string[], string]) => void) => {
      complete(line, mesh).then(
        (result) => done(null, result),
        () => done(null, [[], line]),
      );
    },
  });
  server.defineCommand('help', {
    help: 'the commands',
    action() {
      output.write(helpText());
      this.displayPrompt();
    },
  });
  await new Promise<void>((resolve) => server.once('exit', resolve));
  await queue;
  await listener.close();
  await mesh.close(1000);
  // A script piped in fails as a whole when one of its commands did; a person at a terminal saw each.
  return failed > 0 && !(input as { isTTY?: boolean }).isTTY ? 1 : 0;
}

interface CommandContext {
  mesh: Mesh;
  namespace: string;
  options: TargetOptions;
  listener: ReplListener;
  show(value: unknown): string;
}

function helpText(): string {
  return Object.values(COMMANDS).join('\n') + '\n';
}

async function run(line: string, { mesh, namespace, options, listener }: CommandContext): Promise<unknown> {
  if (line === '') return undefined;
  // The command, its first word, and the rest as typed (JSON keeps its spacing).
  const [, command = '', first, remainder = ''] = /^(\S+)(?:\s+(\S+))?(?:\s+([\s\S]*))?$/.exec(line) ?? [];
  switch (command) {
    case 'help':
      return helpText().trimEnd();
    case 'services':
      return servicesOf(await mesh.registry.listAll());
    case 'endpoints': {
      if (!first) throw new Error('endpoints <service>');
      const [descriptor] = await mesh.registry.lookup(first);
      if (!descriptor) throw new Error(`no instance of '${first}' runs in namespace '${namespace}'`);
      return Object.fromEntries(descriptor.routes.map((route) => [route.name, route.binding]));
    }
    case 'call':
      if (!first) throw new Error('call <service>.<endpoint> [json]');
      return await callByName(mesh, first, remainder === '' ? [] : [parseJson(remainder, 'the argument')], { ...options, namespace });
    case 'emit': {
      if (!first || remainder === '') throw new Error('emit <event> <json>');
      const delivered = await publishByName(mesh, first, parseJson(remainder, 'the event'), { ...options, namespace });
      return `${first} published to ${delivered} subscriber(s)`;
    }
    case 'subscribe':
      if (!first) throw new Error('subscribe <event>');
      await listener.subscribe(first);
      return `subscribed to ${listener.subscribed.join(', ')}`;
    case 'unsubscribe':
      if (!first) throw new Error('unsubscribe <event>');
      return (await listener.unsubscribe(first)) ? `unsubscribed from ${first}` : `not subscribed to ${first}`;
    case 'ps':
      await ps({ ...options, namespace });
      return undefined;
    default:
      throw new Error(`unknown command '${command}': ${Object.keys(COMMANDS).join(', ')} (.exit leaves)`);
  }
}

function servicesOf(descriptors: ServiceDescriptor[]): Record<string, { instances: string[]; endpoints: string[]; events: string[] }> {
  const services: Record<string, { instances: string[]; endpoints: string[]; events: string[] }> = {};
  for (const d of descriptors) {
    const entry = (services[d.service] ??= { instances: [], endpoints: d.routes.map((r) => r.name), events: d.subscriptions.map((s) => s.event) });
    entry.instances.push(`${d.instance} (pid ${d.pid})`);
  }
  return services;
}

/** Completions for the word under the cursor: a command, a `service.endpoint`, a service or an event name. */
async function complete(line: string, mesh: Mesh): Promise<[string[], string]> {
  const words = line.trimStart().split(/\s+/);
  const word = words.at(-1) ?? '';
  const matching = (candidates: Iterable<string>) => [...new Set(candidates)].filter((c) => c.startsWith(word)).sort();
  if (words.length <= 1) return [matching(Object.keys(COMMANDS)).map((c) => `${c} `), word];
  if (words.length > 2) return [[], word];
  const descriptors = await mesh.registry.listAll();
  switch (words[0]) {
    case 'call':
      return [matching(descriptors.flatMap((d) => d.routes.map((r) => `${d.service}.${r.name}`))), word];
    case 'endpoints':
      return [matching(descriptors.map((d) => d.service)), word];
    case 'emit':
    case 'subscribe':
    case 'unsubscribe':
      return [matching(descriptors.flatMap((d) => d.subscriptions.map((s) => s.event))), word];
    default:
      return [[], word];
  }
}
