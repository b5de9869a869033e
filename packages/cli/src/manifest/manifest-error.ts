import { HostmeshError } from '@hostmesh/framework';

/** A manifest that cannot be deployed: names the file, the JSON path and what is expected. */
export class ManifestError extends HostmeshError {
  static override readonly code = 'MANIFEST_INVALID';

  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
    readonly problems: string[] = [],
  ) {
    super(`${file}: ${path ? `${path} ` : ''}${problem}${problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join('; ')})` : ''}`);
  }
}
