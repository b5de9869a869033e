import { generateFiles, joinPathFragments, type Tree } from '@nx/devkit';
import { BootstrapError } from '../../errors/errors';
import { templateDir } from '../templates';
import { addImport, CONTRACTS_DIR, CONTRACTS_IMPORT, exportFromContracts, insertAtMarker, MARKERS, MANIFEST, naming, requireHostmesh, serviceFile, updateManifest } from '../workspace';
import type { EventSchema } from './schema';

/** `nx g @hostmesh/framework:event <name> [--service a,b] [--priority 5] [--binding mqueue]`. */
export async function eventGenerator(tree: Tree, options: EventSchema): Promise<void> {
  requireHostmesh(tree);
  const event = naming(options.name, 'event');
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 31) throw new BootstrapError(`--priority must be an integer from 0 to 31, got ${priority}`);
  const file = joinPathFragments(CONTRACTS_DIR, 'src', 'events', `${event.fileName}.event.ts`);
  if (tree.exists(file) && !options.service) throw new BootstrapError(`event '${event.fileName}' already exists in ${file}`);
  if (!tree.exists(file)) {
    generateFiles(tree, templateDir('event'), joinPathFragments(CONTRACTS_DIR, 'src'), { ...event, priority, tmpl: '' });
    exportFromContracts(tree, `events/${event.fileName}.event`);
  }
  for (const subscriber of (options.service ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const service = naming(subscriber, 'service');
    const path = serviceFile(tree, service);
    addImport(tree, path, '@hostmesh/framework', ['On']);
    addImport(tree, path, CONTRACTS_IMPORT, [event.className]);
    insertAtMarker(tree, path, MARKERS.handlers, [
      `@On(${event.className})`,
      `on${event.className}(event: ${event.className}): void {`,
      `  this.logger.info(\`${event.fileName} at \${event.at}: \${event.note}\`);`,
      '}',
      '',
    ], 'block');
    if (options.binding) {
      updateManifest(tree, (services) => {
        const entry = services[service.fileName];
        if (!entry) throw new BootstrapError(`--binding: no service '${service.fileName}' in ${MANIFEST}`);
        entry.bindings = { ...entry.bindings, [event.fileName]: options.binding! };
      });
    }
  }
}

export default eventGenerator;
