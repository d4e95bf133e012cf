/**
 * Injection probe signatures (SQL injection, XSS, path traversal, command injection) over an event's path and
 * query, URL-decoded up to twice (double encoding is a classic evasion). Compiled once at module load.
 * They aim at probes, not at every conceivable payload: benign look-alikes (`select=name`, `O'Reilly`,
 * `onload=1`, `&id=5`, `wait...`) must not match; the unit spec keeps both lists.
 */
export type InjectionKind = 'sqli' | 'xss' | 'traversal' | 'cmd';

const SIGNATURES: Record<InjectionKind, readonly RegExp[]> = {
  sqli: [
    /'\s*(?:or|and)\s+['"]?[\w-]+['"]?\s*(?:=|like|<|>)\s*['"]?[\w-]+/i,
    /\bunion\b(?:\s|\/\*.*?\*\/)+(?:all\s+)?select\b/i,
    /;\s*(?:drop|truncate|alter)\s+(?:table|database)\b/i,
    /;\s*(?:delete\s+from|insert\s+into|update\s+\w+\s+set|shutdown)\b/i,
    /\b(?:sleep|benchmark|pg_sleep|extractvalue|updatexml)\s*\(\s*[\d'"]/i,
    /\bwaitfor\s+delay\s+'/i,
    /'\s*(?:--|#|\/\*)/,
    /\b(?:information_schema|xp_cmdshell|sysobjects)\b/i,
  ],
  xss: [
    /<\s*(?:script|iframe|object|embed|svg|img|body|details)\b[^>]*?(?:>|\bon\w+\s*=|\bsrc\s*=)/i,
    /[<"'\s/]on(?:error|load|mouseover|focus|click|toggle|begin)\s*=/i,
    /\bjavascript\s*:/i,
    /\bdocument\.(?:cookie|domain|location)\b/i,
  ],
  traversal: [
    /(?:^|[/\\=])\.\.(?:[/\\]|$)/,
    /\/etc\/(?:passwd|shadow|hosts)\b/i,
    /\b(?:boot|win)\.ini\b/i,
    // overlong UTF-8 and other encodings of "." or "/" that survive decoding
    /%c0%ae|%c0%af|%uff0e/i,
  ],
  cmd: [
    /(?:;|\|\|?|&&|`)\s*(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|bash|sh|ping|rm|chmod|python\d?|perl|powershell)\b(?!\s*=)/i,
    /\$\(\s*(?:cat|ls|id|whoami|uname|wget|curl|nc|bash|sh|sleep|ping)\b/i,
    /`\s*(?:cat|ls|id|whoami|uname|wget|curl|sleep)\b[^`]*`/i,
  ],
};

function decode(s: string, plusIsSpace: boolean): string[] {
  const out = [s];
  let cur = plusIsSpace ? s.replace(/\+/g, ' ') : s;
  for (let i = 0; i < 2; i++) {
    let next: string;
    try {
      next = decodeURIComponent(cur);
    } catch {
      next = cur.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
    if (next === cur) break;
    out.push(next);
    cur = next;
  }
  if (plusIsSpace && out.length === 1) out.push(cur);
  return out;
}

export interface InjectionMatch {
  kind: InjectionKind;
  /** Where it matched. */
  in: 'path' | 'query';
}

/**
 * A necessary condition of every signature, in one pass: each signature needs one of these characters or words
 * (case-folded the same way, /i), and decoding changes a string only through `%` (and `+` in a query), which pass.
 * Most requests contain none of them, so they skip the decoding and the signatures. The unit spec checks that
 * the result is the same as with the signatures alone.
 */
const SUSPECT = /['";(<%|`$]|&&|\.\.|\.ini|union|information_schema|xp_cmdshell|sysobjects|document\.|\/etc\/|javascript|on(?:error|load|mouseover|focus|click|toggle|begin)\s*=/i;

/** First matching signature, checking the kinds in the given order; null when clean. */
export function detectInjection(path: string, query: string, kinds: readonly InjectionKind[] = ['sqli', 'xss', 'traversal', 'cmd']): InjectionMatch | null {
  if (!SUSPECT.test(path) && (!query || (!SUSPECT.test(query) && !query.includes('+')))) return null;
  return matchSignatures(path, query, kinds);
}

/** The signatures alone (no pre-filter): what detectInjection must always agree with. */
export function matchSignatures(path: string, query: string, kinds: readonly InjectionKind[] = ['sqli', 'xss', 'traversal', 'cmd']): InjectionMatch | null {
  const paths = decode(path, false);
  const queries = query ? decode(query, true) : [];
  for (const kind of kinds) {
    for (const re of SIGNATURES[kind]) {
      if (paths.some((p) => re.test(p))) return { kind, in: 'path' };
      if (queries.some((q) => re.test(q))) return { kind, in: 'query' };
    }
  }
  return null;
}

export const INJECTION_LABEL: Record<InjectionKind, string> = {
  sqli: 'SQL injection',
  xss: 'cross-site scripting',
  traversal: 'path traversal',
  cmd: 'command injection',
};
