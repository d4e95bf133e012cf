/**
 * TLS protocol versions in OpenSSL's spelling with an explicit minor: 'TLSv1.0' … 'TLSv1.3', 'SSLv3'.
 * Accepts 'TLSv1.3', 'tlsv1.2', 'TLS 1.2', 'TLS1.3', 'TLSv1_2', '1.3' (Traefik), 'TLSv1' (OpenSSL for 1.0),
 * 'SSLv3'. '' for plain HTTP, '-', or anything unrecognised.
 */
export function normaliseTls(raw: string): string {
  if (raw === '' || raw === '-') return '';
  if (raw === 'TLSv1.3' || raw === 'TLSv1.2') return raw; // the common case, already canonical
  let s = raw.trim().toLowerCase();
  if (s.startsWith('ssl')) {
    s = s.slice(3).replace(/^[v _]+/, '');
    return s === '3' || s === '3.0' ? 'SSLv3' : s === '2' || s === '2.0' ? 'SSLv2' : '';
  }
  if (s.startsWith('tls')) s = s.slice(3).replace(/^[v _]+/, '');
  s = s.replace('_', '.');
  switch (s) {
    case '1':
    case '1.0':
      return 'TLSv1.0';
    case '1.1':
      return 'TLSv1.1';
    case '1.2':
      return 'TLSv1.2';
    case '1.3':
      return 'TLSv1.3';
    default:
      return '';
  }
}
