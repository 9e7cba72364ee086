/**
 * SQL literal helpers for ClickHouse. ClickHouse 18.16 has no query parameters (`{name:Type}`
 * arrived in 19.x), so values are inlined as literals; every value goes through one of these.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A database or table name; only plain identifiers are accepted, so quoting cannot be escaped. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain ClickHouse identifier: ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

export function isPlainIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}

/** A single-quoted string literal; backslash and quote are escaped, as are NUL and newlines. */
export function str(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\0':
        out += '\\0';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      default:
        out += ch;
    }
  }
  return `${out}'`;
}

/** An integer literal; non-integers are a bug in the caller. */
export function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not a safe integer: ${value}`);
  return String(value);
}

/** `col IN ('a', 'b')`; an empty list matches nothing, as the filter contract says. */
export function inList(column: string, values: readonly string[]): string {
  if (values.length === 0) return '0';
  return `${column} IN (${values.map(str).join(', ')})`;
}

/** A string array literal such as `['a', 'b']`. */
export function strArray(values: readonly string[]): string {
  return `[${values.map(str).join(', ')}]`;
}
