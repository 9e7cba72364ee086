/** Small helpers shared by the PostgreSQL adapters. */

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema or table name; only lower-case plain identifiers, so quoting cannot be escaped. */
export function pgIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain lower-case PostgreSQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** `bigint` columns arrive as strings from `pg`; epoch milliseconds fit a double exactly. */
export function pgNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  throw new Error(`expected a number from PostgreSQL, got ${JSON.stringify(v)}`);
}

/**
 * A 64-bit advisory-lock key from a name, computed here rather than with `hashtext()` so that
 * the value is stable across PostgreSQL versions. FNV-1a, folded into the signed bigint range.
 */
export function advisoryKey(name: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h).toString();
}
