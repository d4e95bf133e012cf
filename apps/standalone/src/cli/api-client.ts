import { CliError } from './errors.js';

export interface ApiClientOptions {
  /** Base URL of a running Vigil, e.g. http://localhost:8080 */
  url: string;
  /** API key (vgl_…). */
  key: string;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Normalises a base URL given on the command line: adds http:// when missing, drops a trailing slash. */
export function baseUrl(raw: string): string {
  const withScheme = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new CliError(`--url ${JSON.stringify(raw)} is not a URL (e.g. http://localhost:8080)`);
  }
  return u.origin + u.pathname.replace(/\/+$/, '');
}

/** What a failed answer means for the person at the terminal. */
export function explainStatus(status: number, message: string, what: string): string {
  switch (status) {
    case 401:
      return `${what}: the API key was refused (${message}). Pass an admin key with --key or VIGIL_KEY; npm start prints one on first run.`;
    case 403:
      return `${what}: this API key may not do that (${message}).`;
    case 404:
      return `${what}: not found (${message}).`;
    case 429:
      return `${what}: rate limited (${message}).`;
    default:
      return `${what}: HTTP ${status} ${message}`;
  }
}

/** The few REST calls the CLI makes, with errors a person can act on. */
export class ApiClient {
  readonly url: string;
  private readonly key: string;

  constructor(o: ApiClientOptions) {
    this.url = baseUrl(o.url);
    if (!o.key) throw new CliError('no API key: pass --key <key> or set VIGIL_KEY (npm start prints an admin key on first run)');
    this.key = o.key;
  }

  get token(): string {
    return this.key;
  }

  async request<T>(method: string, path: string, body?: unknown, what = `${method} ${path}`): Promise<ApiResponse<T>> {
    const res = await this.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!res.ok) throw new CliError(explainStatus(res.status, messageOf(parsed) ?? res.statusText, what));
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** fetch against the base URL; a connection failure becomes a CliError naming the URL. */
  async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, init);
    } catch (err) {
      throw new CliError(`cannot reach Vigil at ${this.url} (${causeOf(err)}). Is it running? Start it with: npm start`);
    }
  }
}

/** The server's message in an error body (`{ message }`, NestJS's message list, or a short text body). */
export function messageOf(body: unknown): string | null {
  if (body && typeof body === 'object' && 'message' in body) {
    const m = (body as { message: unknown }).message;
    if (typeof m === 'string') return m;
    if (Array.isArray(m)) return m.map(String).join('; ');
  }
  return typeof body === 'string' && body ? body.slice(0, 200) : null;
}

function causeOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : '';
  return code || (cause instanceof Error ? cause.message : String(cause));
}
