import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, sep } from 'node:path';

/** Paths a build writes or tools keep: changes there never start a build. */
const IGNORED = new Set(['node_modules', 'dist', 'out-tsc', '.nx', '.git', 'coverage', 'tmp']);
const SOURCE = /\.(ts|tsx|mts|cts|js|cjs|mjs|json)$/;
/** Saves come in bursts (editors write, rename, touch): build once they settle. */
const SETTLE_MS = 300;
/** Lines of a failed build's output shown; the rest is in the command's own output. */
const SHOWN_LINES = 30;

export interface BuildResult {
  ok: boolean;
  /** The command's output (the last lines when it failed). */
  output: string;
  changed: string[];
}

/**
 * Watches the sources under `root` and runs `command` (a shell line) after they change, one
 * build at a time: changes during a build start one more after it. What changed and how the
 * build went go to `built`.
 */
export class Rebuilder {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private child: ChildProcess | undefined;
  private closed = false;
  private readonly changed = new Set<string>();

  constructor(
    readonly root: string,
    readonly command: string,
    private readonly built: (result: BuildResult) => Promise<void>,
  ) {}

  /** The build command for a project: nx where there is an nx workspace, else tsc -b. */
  static defaultCommand(manifestDir: string): string | undefined {
    for (let dir = manifestDir; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'nx.json'))) return 'npx nx run-many -t build';
      if (dirname(dir) === dir) break;
    }
    return existsSync(join(manifestDir, 'tsconfig.json')) ? 'npx tsc -b' : undefined;
  }

  /**
   * Watches the root's own files, and each folder under it recursively except the ignored
   * ones: Linux's recursive watch sets an inotify watch on every directory below, and a
   * node_modules has tens of thousands (fs.inotify.max_user_watches).
   */
  start(onError: (error: Error) => void = () => undefined): void {
    const seen = (prefix: string) => (_event: string, name: string | null) => {
      if (name === null) return;
      const path = prefix ? join(prefix, name) : name;
      if (!SOURCE.test(path) || path.split(sep).some((part) => IGNORED.has(part)) || path.endsWith('.tsbuildinfo')) return;
      this.changed.add(path);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.build(), SETTLE_MS);
    };
    const add = (path: string, prefix: string, recursive: boolean) => {
      const watcher = watch(path, { recursive }, seen(prefix));
      // A watch that fails (a folder removed, the inotify limit) ends that watch, not `up`.
      watcher.on('error', (error) => {
        watcher.close();
        onError(error);
      });
      this.watchers.push(watcher);
    };
    add(this.root, '', false);
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (entry.isDirectory() && !IGNORED.has(entry.name) && !entry.name.startsWith('.')) add(join(this.root, entry.name), entry.name, true);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    clearTimeout(this.timer);
    this.child?.kill('SIGTERM');
    await this.running;
  }

  /** Runs the command once; resolves with how it went. */
  run(): Promise<{ ok: boolean; output: string }> {
    return new Promise((resolveRun) => {
      const child = spawn('sh', ['-c', this.command], { cwd: this.root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
      this.child = child;
      let output = '';
      const append = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-64 * 1024);
      };
      child.stdout.on('data', append);
      child.stderr.on('data', append);
      child.once('error', (error) => resolveRun({ ok: false, output: error.message }));
      child.once('close', (code) => resolveRun({ ok: code === 0, output: output.trim() }));
    });
  }

  private async build(): Promise<void> {
    if (this.running || this.closed) return; // the build in progress starts another when it ends
    const changed = [...this.changed];
    this.changed.clear();
    this.running = (async () => {
      const result = await this.run();
      if (this.closed) return;
      const output = result.ok ? result.output : result.output.split('\n').slice(-SHOWN_LINES).join('\n');
      await this.built({ ok: result.ok, output, changed });
    })().catch((error: unknown) => this.built({ ok: false, output: `the rebuild failed: ${String(error)}`, changed }));
    await this.running;
    this.running = undefined;
    if (this.changed.size > 0 && !this.closed) await this.build();
  }
}
