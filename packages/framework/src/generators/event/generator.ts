import { generateFiles, joinPathFragments, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../core/errors/errors';
import { templateDir } from '../templates';
import {
  addImport,
  checkBinding,
  contractFile,
  CONTRACTS_DIR,
  CONTRACTS_IMPORT,
  exportFromContracts,
  insertAtMarker,
  MARKERS,
  MANIFEST,
  naming,
  requireHostmesh,
  serviceFile,
  updateManifest,
} from '../workspace';
import type { EventSchema } from './schema';

/** `nx g @hostmesh/framework:event <name> [--service a,b] [--publisher c] [--priority 5] [--binding mqueue]`. */
export async function eventGenerator(tree: Tree, options: EventSchema): Promise<void> {
  requireHostmesh(tree);
  const event = naming(options.name, 'event');
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 31) throw new BootstrapError(`--priority must be an integer from 0 to 31, got ${priority}`);
  const file = joinPathFragments(CONTRACTS_DIR, 'src', 'events', `${event.fileName}.event.ts`);
  if (tree.exists(file) && !options.service && !options.publisher) throw new BootstrapError(`event '${event.fileName}' already exists in ${file}`);
  if (!tree.exists(file)) {
    generateFiles(tree, templateDir('event'), joinPathFragments(CONTRACTS_DIR, 'src'), { ...event, priority, tmpl: '' });
    exportFromContracts(tree, `events/${event.fileName}.event`);
  }
  if (options.publisher) addPublisher(tree, naming(options.publisher, 'service'), event);
  for (const subscriber of (options.service ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const service = naming(subscriber, 'service');
    const path = serviceFile(tree, service);
    addImport(tree, path, '@hostmesh/framework', ['On']);
    addImport(tree, path, CONTRACTS_IMPORT, [event.className]);
    insertAtMarker(
      tree,
      path,
      MARKERS.handlers,
      [
        `@On(${event.className})`,
        `on${event.className}(event: ${event.className}): void {`,
        `  this.logger.info(\`${event.fileName} at \${event.at}: \${event.note}\`);`,
        '}',
        '',
      ],
      'block',
    );
    if (checkBinding(options.binding, 'event')) {
      updateManifest(tree, (services) => {
        const entry = services[service.fileName];
        if (!entry) throw new BootstrapError(`--binding: no service '${service.fileName}' in ${MANIFEST}`);
        entry.bindings = { ...entry.bindings, [event.fileName]: options.binding! };
      });
    }
  }
}

/**
 * The publishing side: EventBus injected into the service and an endpoint that publishes
 * the event, so `hostmesh call <service>.publish<Event> '"a note"'` sends one from a shell.
 */
function addPublisher(tree: Tree, service: ReturnType<typeof naming>, event: ReturnType<typeof naming>): void {
  const path = serviceFile(tree, service);
  addImport(tree, path, '@hostmesh/framework', ['EventBus']);
  addImport(tree, path, CONTRACTS_IMPORT, [event.className]);
  insertAtMarker(tree, path, MARKERS.inject, ['@inject(EventBus) private readonly events: EventBus,']);
  // In its contract too, so that clients (and `implements <Service>Api`) know the endpoint.
  const contract = contractFile(service);
  if (tree.exists(contract)) insertAtMarker(tree, contract, MARKERS.api, [`publish${event.className}(note: string): Promise<void>;`]);
  insertAtMarker(
    tree,
    path,
    MARKERS.handlers,
    [
      `/** Publishes ${event.fileName} to every subscriber: \`hostmesh call ${service.fileName}.publish${event.className} '"a note"'\`. */`,
      '@Endpoint()',
      `async publish${event.className}(note: string): Promise<void> {`,
      `  await this.events.publish(new ${event.className}(Date.now(), note));`,
      '}',
      '',
    ],
    'block',
  );
}

export default eventGenerator;
