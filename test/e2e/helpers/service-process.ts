import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '@vigil/testing';

export type AppName = 'ingest' | 'detector' | 'alert' | 'standalone';

/** Repository root (jest runs with rootDir = the repository). */
export const REPO_ROOT = resolve(process.cwd());

export function appEntry(app: AppName): string {
  return join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
}

/** One JSON log line of a service (pino). */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  app: AppName;
  pid: number;
  /** Base URL, e.g. http://127.0.0.1:41234 (the port the service chose: PORT=0 unless given). */
  url: string;
  /** The data dir it was given (a fresh temporary directory unless VIGIL_DATA_DIR was set). */
  dataDir: string;
  stdout(): string;
  stderr(): string;
  /** stdout parsed as JSON lines; non-JSON lines are skipped. */
  logs(): LogLine[];
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** SIGKILL if still running; for afterEach/afterAll. */
  kill(): Promise<void>;
}

/**
 * Starts `node apps/<app>/dist/main.js` with exactly `env` (plus PATH; nothing else is inherited, so the test
 * environment cannot leak into the service), PORT=0 and a temporary VIGIL_DATA_DIR unless given.
 * The apps must be built (`tsc -b`), as `npm test` does before Jest.
 */
export function startService(app: AppName, env: Record<string, string> = {}): ServiceProcess {
  const entry = appEntry(app);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first with 'npx tsc -b' (npm test does it before Jest)`);
  const dataDir = env.VIGIL_DATA_DIR ?? join(mkdtempSync(join(tmpdir(), `vigil-e2e-${app}-`)), 'data');
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', VIGIL_HTTP_HOST: '127.0.0.1', ...env, VIGIL_DATA_DIR: dataDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<Exit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let done: Exit | undefined;
  void exited.then((e) => (done = e));

  const logs = (): LogLine[] =>
    out.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });

  const proc: ServiceProcess = {
    app,
    pid: child.pid ?? -1,
    url: '',
    dataDir,
    stdout: () => out,
    stderr: () => err,
    logs,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (!done) child.kill(signal);
      return exited;
    },
    kill: async () => {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
  return proc;
}

/**
 * `startService`, then waits until it logs the port it listens on and answers /health/live.
 * Fails with the service's stderr and last log lines when it exits or does not come up in time.
 */
export async function spawnService(app: AppName, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServiceProcess> {
  const proc = startService(app, env);
  let exit: Exit | undefined;
  void proc.exited.then((e) => (exit = e));
  try {
    const port = await waitFor(
      () => {
        if (exit) throw new ExitedEarly(proc, exit);
        const line = proc.logs().find((l) => l.component === 'boot' && typeof l.port === 'number');
        return line ? (line.port as number) : undefined;
      },
      { timeoutMs, what: `${app} to log the port it listens on` },
    );
    proc.url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${proc.url}/health/live`)).ok, { timeoutMs: 5_000, what: `${app} /health/live` });
    return proc;
  } catch (e) {
    await proc.kill();
    const why = e instanceof ExitedEarly ? e.message : `${(e as Error).message}\n${diagnostics(proc)}`;
    throw new Error(why);
  }
}

/** Runs a service that is expected to exit on its own (bad config): resolves with its exit and output. */
export async function runToExit(app: AppName, env: Record<string, string>, timeoutMs = 20_000): Promise<Exit & { stdout: string; stderr: string; dataDir: string }> {
  const proc = startService(app, env);
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr(), dataDir: proc.dataDir };
}

export interface HttpAnswer<T> {
  status: number;
  contentType: string;
  body: T;
}

export async function getJson<T>(url: string): Promise<HttpAnswer<T>> {
  const res = await fetch(url);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as T };
}

export async function getText(url: string): Promise<HttpAnswer<string>> {
  const res = await fetch(url);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

class ExitedEarly extends Error {
  constructor(proc: ServiceProcess, exit: Exit) {
    super(`${proc.app} exited (code ${exit.code}, signal ${exit.signal}) before it was ready\n${diagnostics(proc)}`);
  }
}

function diagnostics(proc: ServiceProcess): string {
  const tail = proc.stdout().split('\n').slice(-15).join('\n');
  return `--- stderr ---\n${proc.stderr()}\n--- last stdout lines ---\n${tail}`;
}
