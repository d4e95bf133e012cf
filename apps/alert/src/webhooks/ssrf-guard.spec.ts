import { nonPublicRange, SsrfGuard, SsrfRefusal } from './ssrf-guard.js';

describe(nonPublicRange.name, () => {
  it.each<[string, string | null]>([
    ['93.184.216.34', null],
    ['2606:2800:220:1:248:1893:25c8:1946', null],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['::ffff:93.184.216.34', null],
    ['not-an-ip', 'invalid'],
  ])('%s → %p', (ip, want) => {
    expect(nonPublicRange(ip)).toBe(want);
  });
});

describe(SsrfGuard.name, () => {
  const dns = (table: Record<string, string[]>) => async (host: string) => {
    const a = table[host];
    if (!a) throw new Error('ENOTFOUND');
    return a;
  };

  it('accepts a host whose every address is public', async () => {
    const g = new SsrfGuard({ allowPrivate: false, allowedCidrs: [] }, dns({ 'hooks.example': ['93.184.216.34', '2606:2800::1'] }));
    await expect(g.check('https://hooks.example/x')).resolves.toBeUndefined();
  });

  it.each([
    ['a host with one private address among public ones', 'https://mixed.example/'],
    ['a host resolving to the metadata service', 'http://meta.example/latest'],
    ['an IPv6 loopback literal', 'http://[::1]:8080/'],
    ['an IPv4-mapped loopback literal', 'http://[::ffff:7f00:1]/'],
    ['0.0.0.0', 'http://0.0.0.0:9000/'],
    ['a non-http scheme', 'file:///etc/passwd'],
    ['an unresolvable host', 'https://nowhere.example/'],
  ])('refuses %s', async (_l, url) => {
    const g = new SsrfGuard(
      { allowPrivate: false, allowedCidrs: [] },
      dns({ 'mixed.example': ['93.184.216.34', '192.168.0.10'], 'meta.example': ['169.254.169.254'] }),
    );
    await expect(g.check(url)).rejects.toBeInstanceOf(SsrfRefusal);
  });

  it('lets through non-public addresses inside an allowed CIDR, and everything when private targets are allowed', async () => {
    const r = dns({ 'svc.internal': ['10.20.3.4'] });
    const cidr = new SsrfGuard({ allowPrivate: false, allowedCidrs: ['10.20.0.0/16', '127.0.0.1'] }, r);
    await expect(cidr.check('http://svc.internal/')).resolves.toBeUndefined();
    await expect(cidr.check('http://127.0.0.1:9/')).resolves.toBeUndefined();
    await expect(cidr.check('http://127.0.0.2:9/')).rejects.toThrow('127.0.0.2 is a loopback address');
    const all = new SsrfGuard({ allowPrivate: true, allowedCidrs: [] }, r);
    await expect(all.check('http://[fd00::1]/')).resolves.toBeUndefined();
  });

  it('caches a resolution for its TTL but checks the cached addresses against the policy on every call', async () => {
    let calls = 0;
    let now = 0;
    const table: Record<string, string[]> = { 'hooks.example': ['93.184.216.34'] };
    const counting = async (host: string) => {
      calls += 1;
      return dns(table)(host);
    };
    const g = new SsrfGuard({ allowPrivate: false, allowedCidrs: [] }, counting, { dnsTtlMs: 5_000, now: () => now });
    await expect(g.target('https://hooks.example/a')).resolves.toMatchObject({ addresses: ['93.184.216.34'] });
    await g.check('https://hooks.example/b');
    expect(calls).toBe(1);
    // Re-pointed at an internal address: caught as soon as the cached answer expires.
    table['hooks.example'] = ['10.0.0.7'];
    now = 5_000;
    await expect(g.check('https://hooks.example/a')).rejects.toThrow('10.0.0.7 is a private address');
    expect(calls).toBe(2);
    // The cached private answer is refused on every call, not remembered as allowed.
    await expect(g.check('https://hooks.example/a')).rejects.toBeInstanceOf(SsrfRefusal);
    expect(calls).toBe(2);
  });

  it('does not cache a failed lookup', async () => {
    let calls = 0;
    const table: Record<string, string[]> = {};
    const g = new SsrfGuard({ allowPrivate: false, allowedCidrs: [] }, async (h) => {
      calls += 1;
      return dns(table)(h);
    });
    await expect(g.check('https://late.example/')).rejects.toThrow('cannot resolve late.example');
    table['late.example'] = ['93.184.216.34'];
    await expect(g.check('https://late.example/')).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it('fails at construction on an allowlist entry that is not an address or CIDR, naming the variable', () => {
    expect(() => new SsrfGuard({ allowPrivate: false, allowedCidrs: ['10.0.0.0/99x'] })).toThrow('VIGIL_WEBHOOK_ALLOWED_CIDRS');
  });
});
