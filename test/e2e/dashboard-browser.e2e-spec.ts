import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import type { Incident } from '@vigil/contracts';
import { waitFor } from '@vigil/testing';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * The dashboard as a new user meets it: `vigil demo` boots standalone and replays generated traffic with attacks;
 * headless Debian Chromium (driven by playwright-core) signs in with the printed key, watches an incident arrive on
 * the live feed, opens it (chart, explanation, contributors), acknowledges it, and saves artifacts/dashboard.png.
 */
jest.setTimeout(240_000);

const REPO = resolve(process.cwd());
const CLI = join(REPO, 'apps', 'standalone', 'dist', 'cli', 'vigil.js');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(REPO, 'artifacts', 'dashboard.png');

const work = mkdtempSync(join(tmpdir(), 'vigil-dashboard-e2e-'));
let demo: ChildProcessWithoutNullStreams;
let out = '';
let context: BrowserContext;
let page: Page;
let url: string;
let key: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with 'npx tsc -b'`);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  demo = spawn(process.execPath, [CLI, 'demo', '--seed', '7'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', VIGIL_HTTP_HOST: '127.0.0.1', VIGIL_DATA_DIR: join(work, 'data'), LOG_LEVEL: 'warn' },
  });
  demo.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  demo.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  [url, key] = await waitFor(
    () => {
      const dash = /Dashboard\s+(http:\/\/\S+)\/dashboard\//.exec(out);
      const k = /API key\s+(vgl_\S+)/.exec(out);
      return dash?.[1] && k?.[1] ? ([dash[1].replace('localhost', '127.0.0.1'), k[1]] as const) : undefined;
    },
    { timeoutMs: 60_000, what: `the demo to print the dashboard URL and key; output so far:\n${out}` },
  );
  context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (demo && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

async function rest<T>(path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe('dashboard in headless Chromium', () => {
  it('refuses a wrong key with a message and keeps the user on the sign-in form', async () => {
    await page.goto(`${url}/dashboard/`);
    await page.getByTestId('api-key').fill('vgl_not_a_real_key');
    await page.getByTestId('sign-in').click();
    await page.waitForFunction(() => (document.getElementById('signin-error')?.textContent ?? '').length > 0);
    expect(await page.locator('#signin-error').textContent()).toContain('not valid');
    expect(await page.locator('#app').isHidden()).toBe(true);
  });

  it('signs in, shows a demo incident arriving live, opens it with its chart and acknowledges it', async () => {
    await page.getByTestId('api-key').fill(key);
    await page.getByTestId('sign-in').click();
    await page.waitForSelector('[data-testid=live-status][data-state=on]', { timeout: 30_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('vigil.apiKey'))).toBe(key);
    const atSignIn = new Set(await page.$$eval('[data-testid=incident]', (lis) => lis.map((li) => (li as HTMLElement).dataset['id'] ?? '')));

    // An open incident that was not there at sign-in: it came over the socket, not from the first page load.
    const liveId = await waitFor(
      async () => {
        const ids = await page.$$eval('[data-testid=incident][data-status=open]', (lis) => lis.map((li) => (li as HTMLElement).dataset['id'] ?? ''));
        return ids.find((id) => id && !atSignIn.has(id));
      },
      { timeoutMs: 150_000, intervalMs: 500, what: `a live incident in the feed; demo output:\n${out.slice(-3000)}` },
    );
    const incident = (await rest<{ incident: Incident }>(`/v1/incidents/${encodeURIComponent(liveId)}`)).incident;

    await page.click(`[data-testid=incident][data-id="${liveId}"]`);
    await page.waitForFunction((title) => document.querySelector('[data-testid=incident-title]')?.textContent === title, incident.title);
    // The incident may still be growing (anomalies join it live): the page follows, so it converges on the server's.
    await waitFor(
      async () => (await page.getByTestId('explanation').textContent()) === (await rest<{ incident: Incident }>(`/v1/incidents/${encodeURIComponent(liveId)}`)).incident.explanation,
      { timeoutMs: 15_000, intervalMs: 250, what: 'the explanation on the page to be the incident explanation' },
    );
    await page.waitForSelector('[data-testid=chart] canvas', { timeout: 20_000 });
    const contributorsText = await page.locator('[data-testid=contributors]').allTextContents();
    expect(contributorsText.join(' ')).toMatch(/Client IPs/);

    await page.getByTestId('acknowledge').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=incident-status]')?.textContent === 'acknowledged', undefined, { timeout: 15_000 });
    const after = (await rest<{ incident: Incident }>(`/v1/incidents/${encodeURIComponent(liveId)}`)).incident;
    expect(after.status).toBe('acknowledged');
    expect(after.history.at(-1)).toMatchObject({ action: 'acknowledged', reason: 'checked on the dashboard' });
    const keys = await rest<{ id: string; prefix: string }[]>('/v1/api-keys');
    expect(after.history.at(-1)?.actor).toBe(keys.find((k) => key.startsWith(k.prefix))?.id);
    expect(await page.locator(`[data-testid=incident][data-id="${liveId}"]`).getAttribute('data-status')).toBe('acknowledged');

    mkdirSync(join(REPO, 'artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('keeps the session across a reload and forgets it on sign-out', async () => {
    await page.reload();
    await page.waitForSelector('[data-testid=live-status][data-state=on]', { timeout: 30_000 });
    expect(await page.locator('#app').isVisible()).toBe(true);
    await page.click('#signout');
    expect(await page.evaluate(() => sessionStorage.getItem('vigil.apiKey'))).toBeNull();
    expect(await page.locator('#signin').isVisible()).toBe(true);
  });
});
