import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnService, type SpawnedService } from '@hostmesh/framework/testing';

export const CLI = join(__dirname, '..', 'bin', 'hostmesh.ts');
export const FIXTURES = __dirname;

/** Runs `hostmesh <args>` to completion (bounded), from sources, like a user would run it. */
export async function hostmesh(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = await spawnService(CLI, { args, env });
  const timer = setTimeout(() => void child.kill(), timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  return { code: exit.code, output: child.output };
}

/** Starts `hostmesh up <manifest>` in the foreground (the test stops it with a signal). */
export function hostmeshUp(manifest: string, env: NodeJS.ProcessEnv): Promise<SpawnedService> {
  return spawnService(CLI, { args: ['up', manifest], env });
}

export function writeManifest(dir: string, name: string, manifest: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  return path;
}

export function fixture(name: string): string {
  return join(FIXTURES, `${name}.main.ts`);
}
