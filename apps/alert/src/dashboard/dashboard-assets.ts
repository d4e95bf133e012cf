import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file the dashboard serves, read once at boot. */
export interface DashboardAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * The dashboard's static files: its own (apps/alert/src/dashboard/public; tsc does not copy them to dist, so they are
 * read from src both when running from dist and under Jest) and the two vendored libraries from node_modules: uPlot
 * (chart, ~50 KB) and the socket.io browser client (~47 KB). No bundler, no framework.
 */
export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'dashboard', 'public');

const require = createRequire(import.meta.url);

function vendorFiles(): Record<string, string> {
  // socket.io's package exports do not list client-dist; it sits next to its dist/ (as socket.io itself finds it).
  const socketIoDir = join(dirname(require.resolve('socket.io')), '..');
  return {
    'vendor/uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
    'vendor/uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
    'vendor/socket.io.min.js': join(socketIoDir, 'client-dist', 'socket.io.min.js'),
  };
}

const OWN_FILES = ['index.html', 'app.js', 'app.css'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function asset(path: string): DashboardAsset {
  const body = readFileSync(path);
  const ext = path.slice(path.lastIndexOf('.'));
  return { body, contentType: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Name (relative to /dashboard/) → asset. Only these names are served: no path from a request reaches the disk. */
export function loadDashboardAssets(publicDir = PUBLIC_DIR): Map<string, DashboardAsset> {
  const files = new Map<string, DashboardAsset>();
  for (const name of OWN_FILES) files.set(name, asset(join(publicDir, name)));
  for (const [name, path] of Object.entries(vendorFiles())) files.set(name, asset(path));
  return files;
}
