import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Mesh } from '@hostmesh/framework';
import { meshOf, type TargetOptions } from '../commands/context';
import { deploymentStatus, type DeploymentStatus } from '../commands/ps';

/** The page and its script, shipped in src (from dist/dashboard and src/dashboard alike). */
const ASSETS = join(__dirname, '..', '..', 'src', 'dashboard', 'assets');
/**
 * Code and style, served to anyone who asks (they show nothing of the deployment): the page's
 * own and the charting library's, from node_modules, so the page needs nothing outside this machine.
 */
const STATIC: Record<string, { file: () => string; type: string }> = {
  '/dashboard.js': { file: () => join(ASSETS, 'dashboard.js'), type: 'text/javascript' },
  '/dashboard.css': { file: () => join(ASSETS, 'dashboard.css'), type: 'text/css' },
  '/vendor/uPlot.iife.min.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  '/vendor/uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
};
/** How often the page gets the deployment's state. */
const INTERVAL_MS = 1000;
/** Pages open at once; one more is refused rather than costing a registry scan per second each. */
const MAX_STREAMS = 16;

export interface DashboardOptions extends TargetOptions {
  /** 0 (default): any free port. */
  port?: number;
}

/**
 * `hostmesh dashboard`: a page on 127.0.0.1 (never another interface), behind a random token
 * in its URL, that shows the deployment live over server-sent events: the topology (services,
 * instances, the mechanism of each binding), calls/s, p50/p99 and errors per endpoint, queue
 * depths, restarts, and a latency histogram per endpoint.
 */
export class DashboardServer {
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  /** One for the server's life: a registry scan a second, not a new mesh (and NATS connection) each. */
  private mesh: Mesh | undefined;
  private pushing = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly token: string,
    private readonly options: DashboardOptions,
  ) {}

  static async listen(options: DashboardOptions): Promise<DashboardServer> {
    const token = randomBytes(16).toString('hex');
    const server = createServer();
    const dashboard = new DashboardServer(server, token, options);
    server.on('request', (request, response) => {
      // Whatever a request holds, it costs its own answer, never the process (with `up --dashboard`, the supervisor).
      try {
        dashboard.serve(request, response);
      } catch {
        if (!response.headersSent) response.writeHead(400, { 'Content-Type': 'text/plain' });
        response.end('bad request\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return dashboard;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/?token=${this.token}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const stream of this.streams) stream.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.mesh?.close(0);
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    if (request.method !== 'GET') return void response.writeHead(405).end();
    const asset = STATIC[url.pathname];
    if (asset) return this.file(response, asset.file(), asset.type);
    // What shows the deployment needs the token.
    if (!this.authorized(url.searchParams.get('token')))
      return void response.writeHead(403, { 'Content-Type': 'text/plain' }).end('a token is needed: open the URL hostmesh dashboard printed\n');
    if (url.pathname === '/') return this.file(response, join(ASSETS, 'dashboard.html'), 'text/html; charset=utf-8');
    if (url.pathname === '/state') {
      return void this.state().then(
        (state) => response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(state)),
        (error: Error) => response.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: error.message })),
      );
    }
    if (url.pathname === '/events') return this.stream(response);
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  }

  /** Compared as digests: equal lengths whatever was sent, and no timing to learn it from. */
  private authorized(given: string | null): boolean {
    if (given === null) return false;
    const digest = (value: string) => createHash('sha256').update(value).digest();
    return timingSafeEqual(digest(given), digest(this.token));
  }

  private file(response: ServerResponse, path: string, type: string): void {
    let body: Buffer;
    try {
      body = readFileSync(path);
    } catch {
      return void response.writeHead(404).end();
    }
    response.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
  }

  private state(): Promise<DeploymentStatus & { at: string }> {
    this.mesh ??= meshOf(this.options);
    return deploymentStatus(this.options, this.mesh).then((status) => ({ ...status, at: new Date().toISOString() }));
  }

  private stream(response: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) return void response.writeHead(503).end();
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    this.streams.add(response);
    response.on('close', () => {
      this.streams.delete(response);
      if (this.streams.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    });
    void this.push();
    this.timer ??= setInterval(() => void this.push(), INTERVAL_MS);
  }

  /** One snapshot to every open page. */
  private async push(): Promise<void> {
    if (this.pushing || this.closed) return; // a slow registry scan: skip a tick rather than pile them up
    this.pushing = true;
    let data: string;
    try {
      data = JSON.stringify(await this.state());
    } catch (error) {
      data = JSON.stringify({ error: (error as Error).message });
    } finally {
      this.pushing = false;
    }
    for (const stream of this.streams) {
      // A page that stops reading is dropped, not buffered for.
      if (stream.writableEnded || stream.destroyed) continue;
      if (stream.writableLength > 1 << 20) stream.destroy();
      else stream.write(`data: ${data}\n\n`);
    }
  }
}
