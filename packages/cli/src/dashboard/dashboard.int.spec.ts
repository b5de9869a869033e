import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Mesh } from '@hostmesh/framework';
import { spawnService, type SpawnedService } from '@hostmesh/framework/testing';
import { CLI, deployments, fixture, writeManifest } from '../__fixtures__/cli';
import { Echo, type EchoApi } from '../__fixtures__/echo.contract';

/** Debian's Chromium (npm test installs it); nothing downloads a browser. */
const CHROMIUM = process.env.HOSTMESH_CHROMIUM ?? '/usr/bin/chromium';

/** The dashboard as a user opens it: `hostmesh dashboard`, its URL in a real headless Chromium. */
describe('hostmesh dashboard, in Chromium', () => {
  const { runtime, env, up } = deployments();
  let dashboard: SpawnedService | undefined;
  let browser: Browser | undefined;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace: 'dash', logLevel: 'silent' });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop('SIGTERM', 5000);
    await mesh.close(0);
  }, 30_000);

  it('shows every service with the mechanism of each binding, and its numbers move as calls are made', async () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    const manifest = writeManifest(runtime.path, 'dash.json', {
      namespace: 'dash',
      services: { echo: { entry: fixture('echo') }, relay: { entry: fixture('relay'), dependsOn: ['echo'], bindings: { pids: 'uds' } } },
    });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('relay is ready', 30_000);

    dashboard = await spawnService(CLI, { args: ['dashboard', '-n', 'dash'], env });
    await dashboard.waitForOutput(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/, 20_000);
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/.exec(dashboard.output)![0];
    // Without its token the page shows nothing of the deployment.
    expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(403);
    expect((await fetch(url.replace(/token=.*/, 'token=' + '0'.repeat(32)))).status).toBe(403);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('#status.live', { timeout: 15_000 });

    // The topology: each service, and each binding labelled with its mechanism.
    for (const service of ['echo', 'relay']) await page.waitForSelector(`g.service[data-service="${service}"]`);
    const mechanism = (route: string) => page.locator(`text.edge-label[data-route="${route}"]`).first().textContent();
    expect(await mechanism('echo.ping')).toBe('shm');
    expect(await mechanism('relay.pids')).toBe('uds');
    expect(await mechanism('echo.note')).toBe('mqueue');

    // Live: calls made now show in the page within a few of its updates, with a latency histogram.
    const calls = () => page.locator('#endpoints tr[data-route="echo.ping"] td.calls').textContent();
    const before = Number(await calls());
    const echo = mesh.client<EchoApi>(Echo);
    for (let i = 0; i < 50; i++) await echo.ping();
    // Evaluated in the page (a string: this package is not compiled against the DOM's types).
    await page.waitForFunction(`Number(document.querySelector('#endpoints tr[data-route="echo.ping"] td.calls')?.textContent) >= ${before + 50}`, undefined, {
      timeout: 15_000,
    });
    expect(await page.locator('#endpoints tr[data-route="echo.ping"] svg.histogram rect').count()).toBeGreaterThan(0);
    expect(await page.locator('#rate .uplot').count()).toBe(1);

    const shot = process.env.HOSTMESH_DOCS_SCREENSHOT ?? join(tmpdir(), `hostmesh-dashboard-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    // The dashboard reads the runtime directory every second: it ends before the directory is removed.
    await browser.close();
    browser = undefined;
    expect(await dashboard.stop('SIGTERM', 5000)).toEqual({ code: 0, signal: null });
    dashboard = undefined;
    await supervisor.stop('SIGINT');
  }, 120_000);

  it('is served by up --dashboard too, with the state behind its token', async () => {
    const manifest = writeManifest(runtime.path, 'dash-up.json', { namespace: 'dash-up', services: { echo: { entry: fixture('echo') } } });
    const supervisor = await spawnService(CLI, { args: ['up', '--dashboard', manifest], env });
    try {
      await supervisor.waitForOutput(/dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/, 30_000);
      const url = new URL(/dashboard: (http:\S+)/.exec(supervisor.output)![1]!);
      const state = (await (await fetch(`${url.origin}/state?token=${url.searchParams.get('token')}`)).json()) as {
        namespace: string;
        instances: Array<{ service: string }>;
      };
      expect(state.namespace).toBe('dash-up');
      expect(state.instances.map((i) => i.service)).toEqual(['echo']);
      expect((await fetch(`${url.origin}/state`)).status).toBe(403);
      // What a request holds costs its own answer, never the supervisor serving the page.
      expect((await fetch(`${url.origin}/state?token=${'é'.repeat(32)}`)).status).toBe(403);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), '127.0.0.1', () => socket.write('GET http://a:99999/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('end', () => resolve(answer));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400/);
      expect((await fetch(`${url.origin}/state?token=${url.searchParams.get('token')}`)).status).toBe(200);
      expect(supervisor.running).toBe(true);
    } finally {
      await supervisor.stop('SIGINT', 10_000);
    }
  }, 60_000);
});
