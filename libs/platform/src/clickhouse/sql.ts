/**
 * The one place that turns values into ClickHouse SQL text.
 *
 * ClickHouse 18.16 has no query parameters, so every value that reaches a query is rendered as a literal here:
 * - `lit(value)` renders a string, finite number, boolean, null or string array;
 * - `ident(name)` renders a validated identifier (database, table, column);
 * - the `sql` tag escapes every interpolation, so a query is either constant text or built from `Sql` fragments.
 * No code outside this file concatenates values into SQL.
 */

export type Literal = string | number | boolean | null | readonly string[];

/** A fragment of SQL text that is safe by construction (made only by this module). */
export class Sql {
  /** @internal use the `sql` tag, `ident`, `lit` or `joinSql` instead */
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export class SqlLiteralError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlLiteralError';
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An identifier (database, table, column), validated and back-quoted so keywords are safe too. */
export function ident(name: string): Sql {
  if (typeof name !== 'string' || !IDENT.test(name)) {
    throw new SqlLiteralError(`invalid identifier ${JSON.stringify(name)}: must match ${IDENT.source}`);
  }
  return new Sql('`' + name + '`');
}

/** `db`.`table` */
export function qualified(database: string, table: string): Sql {
  return new Sql(`${ident(database).text}.${ident(table).text}`);
}

/**
 * Escape a string for a ClickHouse single-quoted literal: backslash and quote are escaped, NUL and the common
 * controls use their short escapes, every other C0 control and DEL becomes `\xHH`. Everything else (including
 * multi-byte UTF-8) passes through unchanged, so the server stores exactly the UTF-8 bytes of the JS string.
 */
export function escapeString(s: string): string {
  if (!isWellFormed(s)) throw new SqlLiteralError('string contains a lone UTF-16 surrogate and cannot be encoded as UTF-8');
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c === 0x5c) rep = '\\\\';
    else if (c === 0x27) rep = "\\'";
    else if (c < 0x20 || c === 0x7f) {
      switch (c) {
        case 0x00:
          rep = '\\0';
          break;
        case 0x0a:
          rep = '\\n';
          break;
        case 0x09:
          rep = '\\t';
          break;
        case 0x0d:
          rep = '\\r';
          break;
        default:
          rep = '\\x' + c.toString(16).padStart(2, '0');
      }
    }
    if (rep !== null) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start);
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

function numberLiteral(n: number): string {
  if (!Number.isFinite(n)) throw new SqlLiteralError(`number literal must be finite, got ${String(n)}`);
  // Object.is(-0) renders as 0. Negative numbers are parenthesised so `a-${x}` can never become a `--` comment.
  const text = String(n === 0 ? 0 : n);
  return n < 0 ? `(${text})` : text;
}

/** Render one value as a ClickHouse literal. Throws SqlLiteralError on anything it cannot render safely. */
export function lit(value: Literal): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return `'${escapeString(value)}'`;
    case 'number':
      return numberLiteral(value);
    case 'boolean':
      return value ? '1' : '0';
    case 'object':
      if (Array.isArray(value)) {
        return `[${value.map((v: unknown) => {
          if (typeof v !== 'string') throw new SqlLiteralError(`array literal elements must be strings, got ${typeof v}`);
          return lit(v);
        }).join(', ')}]`;
      }
      break;
    default:
      break;
  }
  throw new SqlLiteralError(`cannot render a ${typeof value} as a SQL literal`);
}

export type SqlValue = Literal | Sql;

/**
 * Tagged template: constant text stays as written, every `${value}` is rendered by `lit` (or inlined when it is
 * already a `Sql` fragment, e.g. from `ident` or a nested `sql`).
 */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): Sql {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += (v instanceof Sql ? v.text : lit(v)) + (strings[i + 1] ?? '');
  });
  return new Sql(out);
}

/** Join fragments with a constant separator (e.g. ' AND ', ', '). */
export function joinSql(parts: readonly Sql[], separator: ', ' | ' AND ' | ' OR ' | '\n'): Sql {
  return new Sql(parts.map((p) => p.text).join(separator));
}

/** `WHERE a AND b`, or nothing when there are no conditions. */
export function where(conditions: readonly Sql[]): Sql {
  return conditions.length ? new Sql(`WHERE ${joinSql(conditions, ' AND ').text}`) : new Sql('');
}

/** `(lit, lit, …)` for `x IN ${inList(values)}`; callers must handle the empty list (it matches nothing). */
export function inList(values: readonly string[]): Sql {
  if (values.length === 0) throw new SqlLiteralError('IN list must not be empty');
  return new Sql(`(${values.map((v) => lit(v)).join(', ')})`);
}
