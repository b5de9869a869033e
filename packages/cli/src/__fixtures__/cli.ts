import { writeFileSync } from 'node:fs';
import { afterAll } from '@jest/globals';
import { join } from 'node:path';
import { processStartTime } from '@hostmesh/native';
import { sleep, spawnService, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';
import type { SupervisorState } from '../supervisor/state';

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

/**
 * For a describe block of deployments: its own runtime directory, `up` (hostmesh up in the
 * foreground), `ps` (ps --json) and `until`. After the block, even when a test failed, every
 * supervisor started is stopped and every pid noted in `pids` is killed.
 */
export function deployments(): {
  runtime: { path: string; remove(): void };
  env: NodeJS.ProcessEnv;
  pids: number[];
  /** `hostmesh up` in the foreground; `ownEnv` for a deployment under another runtime directory. */
  up(manifest: string, ownEnv?: NodeJS.ProcessEnv): Promise<SpawnedService>;
  ps(namespace: string): Promise<{ supervisor: SupervisorState | null; instances: SupervisorState['instances'] }>;
  until(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
} {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  const ups: SpawnedService[] = [];
  const pids: number[] = [];
  afterAll(async () => {
    for (const up of ups) await up.stop('SIGTERM', 5000);
    for (const pid of pids) if (processStartTime(pid) !== undefined) process.kill(pid, 'SIGKILL');
    runtime.remove();
  }, 60_000);
  return {
    runtime,
    env,
    pids,
    async up(manifest, ownEnv = env) {
      const child = await hostmeshUp(manifest, ownEnv);
      ups.push(child);
      return child;
    },
    async ps(namespace) {
      const { output, code } = await hostmesh(['ps', '--json', '-n', namespace], env);
      if (code !== 0) throw new Error(`hostmesh ps exited with ${code}: ${output}`);
      return JSON.parse(output) as { supervisor: SupervisorState | null; instances: SupervisorState['instances'] };
    },
    async until(what, check, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
        await sleep(100);
      }
    },
  };
}
