import { ident, inList, joinSql, lit, qualified, sql, SqlLiteralError, where } from './sql.js';

describe('lit', () => {
  it.each<[string, Parameters<typeof lit>[0], string]>([
    ['plain string', 'abc', "'abc'"],
    ['empty string', '', "''"],
    ['single quote', "O'Brien", "'O\\'Brien'"],
    ['backslash', 'a\\b', "'a\\\\b'"],
    ['backslash then quote', "\\'", "'\\\\\\''"],
    ['trailing backslash cannot eat the closing quote', 'x\\', "'x\\\\'"],
    ['classic injection', "'; DROP TABLE x; --", "'\\'; DROP TABLE x; --'"],
    ['NUL', 'a\u0000b', "'a\\0b'"],
    ['newline, tab, carriage return', '\n\t\r', "'\\n\\t\\r'"],
    ['other C0 controls as \\xHH', '\u0001\u001b\u001f', "'\\x01\\x1b\\x1f'"],
    ['DEL', '\u007f', "'\\x7f'"],
    ['multi-byte unicode passes through', 'héllo 日本 🚀 مرحبا', "'héllo 日本 🚀 مرحبا'"],
    ['line separators pass through', '\u2028\u2029\u0085', "'\u2028\u2029\u0085'"],
    ['zero', 0, '0'],
    ['negative zero', -0, '0'],
    ['integer', 42, '42'],
    ['float', 0.1, '0.1'],
    ['negative numbers are parenthesised (no -- comment)', -5, '(-5)'],
    ['exponent', 1e21, '1e+21'],
    ['max safe integer', Number.MAX_SAFE_INTEGER, '9007199254740991'],
    ['true', true, '1'],
    ['false', false, '0'],
    ['null', null, 'NULL'],
    ['empty array', [], '[]'],
    ['array of hostile strings', ["a'", 'b\\', '\u0000'], "['a\\'', 'b\\\\', '\\0']"],
  ])('renders %s', (_name, value, expected) => {
    expect(lit(value)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', '\udc00'],
    ['undefined', undefined],
    ['object', { a: 1 }],
    ['bigint', 1n],
    ['array with a number', ['a', 1]],
  ])('rejects %s', (_name, value) => {
    expect(() => lit(value as Parameters<typeof lit>[0])).toThrow(SqlLiteralError);
  });

  it('never leaves an unescaped quote or a dangling backslash for any single code unit', () => {
    for (let c = 0; c < 0xd800; c++) {
      const text = lit(String.fromCharCode(c));
      const body = text.slice(1, -1);
      // Walk escapes: after removing every escape sequence no quote, backslash or control remains.
      const stripped = body.replace(/\\(x[0-9a-f]{2}|[0ntr\\'])/g, '');
      expect(stripped).not.toMatch(/['\\\u0000-\u001f\u007f]/);
    }
  });
});

describe('ident', () => {
  it.each(['vigil', '_x', 'A1_b2', 'select'])('accepts %p and back-quotes it', (name) => {
    expect(ident(name).text).toBe('`' + name + '`');
  });
  it.each(['', '1abc', 'a-b', 'a.b', 'a`b', 'a b', "a'", 'db;DROP', 'é'])('rejects %p', (name) => {
    expect(() => ident(name)).toThrow(SqlLiteralError);
  });
  it('qualifies database and table', () => {
    expect(qualified('db', 't').text).toBe('`db`.`t`');
  });
});

describe('sql', () => {
  it('escapes every interpolation and inlines fragments', () => {
    const table = qualified('db', 'events');
    const q = sql`SELECT * FROM ${table} WHERE id = ${"x'; DROP TABLE y; --"} AND n > ${-1} AND f IN ${inList(['a', "b'"])}`;
    expect(q.text).toBe("SELECT * FROM `db`.`events` WHERE id = 'x\\'; DROP TABLE y; --' AND n > (-1) AND f IN ('a', 'b\\'')");
  });
  it('keeps constant text verbatim', () => {
    expect(sql`SELECT 1`.text).toBe('SELECT 1');
  });
  it('composes WHERE clauses', () => {
    expect(where([]).text).toBe('');
    expect(where([sql`a = ${1}`, sql`b = ${'x'}`]).text).toBe("WHERE a = 1 AND b = 'x'");
    expect(joinSql([sql`a`, sql`b`], ', ').text).toBe('a, b');
  });
  it('refuses an empty IN list', () => {
    expect(() => inList([])).toThrow(SqlLiteralError);
  });
});
