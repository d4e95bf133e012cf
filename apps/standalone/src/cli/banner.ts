/** What `npm start` / `vigil start` prints for the person who just ran it (stderr; stdout stays JSON log lines). */
export interface BannerInput {
  /** Where the HTTP server answers, e.g. http://localhost:8080 */
  url: string;
  dataDir: string;
  mode: 'standalone' | 'distributed';
  /** The admin key created now (first run), or null when one existed already. */
  adminKey: string | null;
  /** Now (epoch ms), for the sample log line. */
  now: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** `[14/May/2024:08:00:00 +0000]`-style time of nginx's combined format, in UTC. */
export function nginxTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** A shell-quoted curl that ships one nginx combined log line (text/plain) to POST /v1/logs. */
export function sampleCurl(url: string, key: string, now: number): string {
  const line = `203.0.113.7 - - [${nginxTime(now)}] "GET /v1/orders/42 HTTP/1.1" 200 512 "-" "curl/8.5.0"`;
  return [
    `curl -sS -X POST ${url}/v1/logs \\`,
    `      -H "Authorization: Bearer ${key}" -H 'Content-Type: text/plain' \\`,
    `      --data-binary '${line}'`,
  ].join('\n');
}

export function startBanner(b: BannerInput): string {
  const key = b.adminKey ?? '$VIGIL_KEY';
  const lines = [
    '',
    `  Vigil is up at ${b.url}  (${b.mode}${b.mode === 'standalone' ? `, data in ${b.dataDir}` : ''})`,
    '',
    `  Dashboard   ${b.url}/dashboard/`,
    ...(b.adminKey
      ? [`  Admin key   ${b.adminKey}`, '              shown once: only its hash is stored. Save it now (e.g. export VIGIL_KEY=...).']
      : ['  Admin key   created on first run (printed then). Sign in with it, or with a key made by `vigil keys create`.']),
    '',
    '  What now',
    '    1. Open the dashboard and sign in with the key.',
    '    2. Ship a log line (nginx combined; JSON lines from Kong, APISIX, Envoy, Traefik, AWS, Tyk work too):',
    `      ${sampleCurl(b.url, key, b.now)}`,
    '    3. See incidents appear: in another terminal,',
    `      npm run demo -- --url ${b.url} --key ${key}`,
    '    4. Connect a gateway: docs/integrations/README.md (Kong, APISIX, Envoy/Istio, nginx via Vector or Fluent Bit, Traefik).',
    '',
    `  API docs ${b.url}/docs   health ${b.url}/health   metrics ${b.url}/metrics`,
    '',
    '',
  ];
  return lines.join('\n');
}
