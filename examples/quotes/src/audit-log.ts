import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable, LOGGER, type Logger, SharedLock, RuntimeDir } from '@hostmesh/framework';

/**
 * One file both services append to: a shared resource, so every append holds the
 * cross-process SharedLock 'audit' (a named semaphore with a crash-safe owner record).
 */
@injectable()
export class AuditLog {
  readonly path: string;

  constructor(
    @inject(SharedLock) private readonly lock: SharedLock,
    @inject(RuntimeDir) dir: RuntimeDir,
    @inject(LOGGER) private readonly logger: Logger,
  ) {
    this.path = join(dir.root, 'audit.log');
  }

  async record(line: string): Promise<void> {
    try {
      await this.lock.withLock('audit', () => appendFile(this.path, `${new Date().toISOString()} pid ${process.pid} ${line}\n`, { mode: 0o600 }), {
        timeoutMs: 500,
      });
    } catch (error) {
      this.logger.warn(`audit line not written: ${(error as Error).message}`);
    }
  }
}
