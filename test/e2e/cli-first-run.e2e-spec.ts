import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { generateTraffic } from '@vigil/testing';
import { REPO_ROOT, spawnService, type ServiceProcess } from './helpers/service-process.js';

/**
 * First run as a new user, from the compiled dist: `npm start`'s process prints the "what now" banner with the admin
 * key; the banner's curl ships a log line; the `vigil` CLI manages keys, replays a log file and lists incidents,
 * and fails with one clear line when something is wrong.
 */
jest.setTimeout(120_000);

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'apps', 'standalone', 'dist', 'cli', 'vigil.js');
const work = mkdtempSync(join(tmpdir(), 'vigil-cli-e2e-'));
let vigil: ServiceProcess;
let adminKey: string;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
/** A port nothing listens on (just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
const asAdmin = () => ({ VIGIL_URL: vigil.url, VIGIL_KEY: adminKey });

beforeAll(async () => {
  vigil = await spawnService('standalone', { VIGIL_DATA_DIR: join(work, 'data') });
  adminKey = /Admin key\s+(vgl_\S+)/.exec(vigil.stderr())?.[1] ?? '';
});

afterAll(async () => {
  await vigil?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('first run', () => {
  it('prints the dashboard URL, the admin key once, and a curl that ships a log line', async () => {
    const banner = vigil.stderr();
    expect(adminKey).toMatch(/^vgl_/);
    expect(banner).toContain(`Dashboard   ${vigil.url}/dashboard/`);
    expect(banner).toContain('docs/integrations/README.md');
    const curl = /(curl -sS -X POST [\s\S]*?--data-binary '[^']*')/.exec(banner)?.[1];
    expect(curl).toBeDefined();
    const shipped = await run('sh', ['-c', curl ?? 'false']);
    expect(JSON.parse(shipped.stdout)).toEqual({ accepted: 1, rejected: 0, errors: [] });
  });

  it('serves the dashboard page and its two libraries', async () => {
    for (const path of ['/dashboard/', '/dashboard/app.js', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/vendor/socket.io.min.js']) {
      const res = await fetch(`${vigil.url}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
    }
    expect(await (await fetch(`${vigil.url}/dashboard/`)).text()).toContain('<title>Vigil</title>');
    expect((await fetch(`${vigil.url}/dashboard/..%2Fpackage.json`)).status).toBe(404);
  });
});

describe('vigil keys', () => {
  it('creates a key whose token works, lists it, rotates it and revokes it', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci-shipper', '--role', 'shipper'], asAdmin());
    expect(created).toMatchObject({ code: 0 });
    const token = /^(vgl_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    const id = /Created key (\S+)/.exec(created.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
    const post = (t: string) => fetch(`${vigil.url}/v1/logs`, { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/x-ndjson' }, body: '' });
    expect((await post(token)).status).toBe(200);

    const listed = await cli(['keys', 'list', '--json'], asAdmin());
    expect(JSON.parse(listed.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id, name: 'ci-shipper', role: 'shipper', revokedAt: null })]));

    const rotated = await cli(['keys', 'rotate', id, '--overlap', '0'], asAdmin());
    expect(rotated.code).toBe(0);
    const newToken = /^(vgl_\S+)$/m.exec(rotated.stdout)?.[1] ?? '';
    const newId = /→ (\S+);/.exec(rotated.stdout)?.[1] ?? '';
    expect((await post(newToken)).status).toBe(200);
    expect((await post(token)).status).toBe(401);

    expect((await cli(['keys', 'revoke', newId], asAdmin())).code).toBe(0);
    expect((await post(newToken)).status).toBe(401);
  });

  it('explains a refused key, a missing key and an unreachable server in one line each', async () => {
    const wrong = await cli(['keys', 'list'], { VIGIL_URL: vigil.url, VIGIL_KEY: 'vgl_wrong_key' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^vigil: listing keys: the API key was refused/);
    const missing = await cli(['keys', 'list', '--url', vigil.url]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^vigil: no API key/) });
    const closed = await closedPort();
    const down = await cli(['incidents', '--url', `http://127.0.0.1:${closed}`, '--key', adminKey]);
    expect(down).toMatchObject({ code: 1, stderr: `vigil: cannot reach Vigil at http://127.0.0.1:${closed} (ECONNREFUSED). Is it running? Start it with: npm start\n` });
    const badRole = await cli(['keys', 'create', '--name', 'x', '--role', 'root'], asAdmin());
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain("argument 'root' is invalid");
  });

  it('has --help on every command', async () => {
    for (const args of [['--help'], ['start', '--help'], ['demo', '--help'], ['replay', '--help'], ['keys', '--help'], ['keys', 'create', '--help'], ['incidents', '--help']]) {
      const r = await cli(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 0]);
      expect(r.stdout).toContain('Usage: vigil');
    }
  });
});

describe('vigil replay and vigil incidents', () => {
  it('ships a gzip log file with every record accepted and stored', async () => {
    const start = Date.now() - 3_600_000;
    const lines = [...generateTraffic({ seed: 3, start, durationMs: 60_000, rps: 30, attacks: 'none', format: 'nginx' })].map((r) => r.raw);
    const file = join(work, 'nginx.log.gz');
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const r = await cli(['replay', file, '--format', 'nginx', '--batch', '500'], asAdmin());
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^${lines.length} accepted, 0 rejected \\(dead-lettered\\) of ${lines.length} records .* → ${vigil.url}/v1/logs\n`));
  });

  it('tells a missing file apart from a server problem', async () => {
    const r = await cli(['replay', join(work, 'nope.log')], asAdmin());
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/^vigil: cannot read .*nope\.log: no such file/) });
    const file = join(work, 'one.log');
    writeFileSync(file, '203.0.113.7 - - [14/May/2024:08:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.5.0"\n');
    const refused = await cli(['replay', file], { VIGIL_URL: vigil.url, VIGIL_KEY: 'vgl_wrong_key' });
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/^vigil: shipping logs to POST \/v1\/logs: the API key was refused/) });
    const both = await cli(['replay', file, '--url', vigil.url, '--kafka', '127.0.0.1:9092'], asAdmin());
    expect(both).toMatchObject({ code: 1, stderr: 'vigil: give one destination: --url (a running Vigil) or --kafka (brokers)\n' });
  });

  it('lists incidents (none yet on a quiet system)', async () => {
    const r = await cli(['incidents'], asAdmin());
    expect(r).toMatchObject({ code: 0, stdout: 'No incidents.\n' });
  });
});
