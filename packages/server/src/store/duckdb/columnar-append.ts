/**
 * Fast bulk loading into DuckDB: rows are written column by column into data chunks and
 * handed to an appender chunk by chunk.
 *
 * Why not `appender.appendX()` per value: each value is a native call, which caps a
 * 37-column LLM-call row below 100k rows/s on the reference machine. Here numbers are
 * written into typed arrays (64-bit integers as two 32-bit words, so no BigInt is created)
 * and copied into the vector with one native call per column per chunk; only non-null
 * strings cost one native call each. docs/storage.md has the measurements.
 */
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBAppender,
  DuckDBDataChunk,
  type DuckDBType,
  INTEGER,
  LIST,
  SMALLINT,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';

export type ColumnKind =
  | 'varchar'
  | 'double'
  | 'bigint'
  | 'integer'
  | 'smallint'
  | 'utinyint'
  | 'boolean'
  | 'varchar_list';

export type ColumnValue = string | number | boolean | null | readonly string[];

export interface Column<T> {
  name: string;
  kind: ColumnKind;
  /** `index` is the row's position in the array being appended. */
  get: (row: T, index: number) => ColumnValue;
}

export function sqlType(kind: ColumnKind): string {
  return kind === 'varchar_list' ? 'VARCHAR[]' : kind.toUpperCase();
}

function duckType(kind: ColumnKind): DuckDBType {
  switch (kind) {
    case 'varchar':
      return VARCHAR;
    case 'double':
      return DOUBLE;
    case 'bigint':
      return BIGINT;
    case 'integer':
      return INTEGER;
    case 'smallint':
      return SMALLINT;
    case 'utinyint':
      return UTINYINT;
    case 'boolean':
      return BOOLEAN;
    case 'varchar_list':
      return LIST(VARCHAR);
  }
}

/** Rows per chunk: DuckDB's standard vector size. */
const CHUNK_ROWS = bindings.vector_size();
const TWO_32 = 2 ** 32;

/** Scratch buffers reused across calls; appends on one connection never overlap. */
const buffer = new ArrayBuffer(CHUNK_ROWS * 16);
const f64 = new Float64Array(buffer);
const i32 = new Int32Array(buffer);
const u32 = new Uint32Array(buffer);
const i16 = new Int16Array(buffer);
const u8 = new Uint8Array(buffer);
const validityBytes = Math.ceil(CHUNK_ROWS / 64) * 8;
const validity = new Uint8Array(validityBytes);

const longRows = new Int32Array(CHUNK_ROWS);
/** The strings of `longRows`, kept so a column's getter runs once per row (it may build the string). */
const longValues: string[] = new Array(CHUNK_ROWS).fill('');

/** Writes `s` as an inlined string into slot `i` of the scratch buffer; false when it does not fit. */
function writeInline(i: number, s: string): boolean {
  const length = s.length;
  if (length > 12) return false;
  const base = i * 16;
  for (let j = 0; j < length; j++) {
    const code = s.charCodeAt(j);
    if (code > 0x7f) return false;
    u8[base + 4 + j] = code;
  }
  u32[i * 4] = length;
  return true;
}

/**
 * Whether slots may be written directly: checked once against the library by writing a
 * chunk both ways and reading it back, so a layout change disables the fast path instead
 * of corrupting data.
 */
export const INLINE_STRINGS = (() => {
  try {
    const samples = ['', 'a', 'abcdefghijkl', 'user-42'];
    const chunk = DuckDBDataChunk.create([VARCHAR], samples.length);
    const v = bindings.data_chunk_get_vector(chunk.chunk, 0);
    u8.fill(0, 0, samples.length * 16);
    const allInline = samples.every((x, i) => writeInline(i, x));
    if (!allInline) return false;
    bindings.copy_data_to_vector(v, 0, buffer, 0, samples.length * 16);
    const back = chunk.getColumnValues(0);
    return samples.every((x, i) => back[i] === x);
  } catch {
    return false;
  }
})();

/** Writes `rows` through `appender`, whose table has exactly `columns`, in this order. */
export function appendColumnar<T>(appender: DuckDBAppender, columns: readonly Column<T>[], rows: readonly T[]): void {
  const types = columns.map((c) => duckType(c.kind));
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows.length - start);
    const chunk = DuckDBDataChunk.create(types, n);
    for (let c = 0; c < columns.length; c++) {
      writeColumn(bindings.data_chunk_get_vector(chunk.chunk, c), columns[c]!, rows, start, n);
    }
    appender.appendDataChunk(chunk);
  }
}

function writeColumn<T>(vector: unknown, column: Column<T>, rows: readonly T[], start: number, n: number): void {
  const v = vector as Parameters<typeof bindings.vector_assign_string_element>[0];
  const get = column.get;
  let nulls = 0;
  validity.fill(0xff);
  const setNull = (i: number) => {
    validity[i >> 3]! &= ~(1 << (i & 7));
    nulls++;
  };
  switch (column.kind) {
    case 'varchar': {
      if (!INLINE_STRINGS) {
        for (let i = 0; i < n; i++) {
          const x = get(rows[start + i]!, start + i);
          if (x === null || x === undefined) setNull(i);
          else bindings.vector_assign_string_element(v, i, x as string);
        }
        break;
      }
      // Short ASCII strings are written straight into the 16-byte string slots (the inlined
      // form of the C API's duckdb_string_t); longer ones go through the native call after
      // the slots are copied in.
      u8.fill(0, 0, n * 16);
      let longCount = 0;
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i) as string | null | undefined;
        if (x === null || x === undefined) {
          setNull(i);
          continue;
        }
        if (!writeInline(i, x)) {
          longValues[longCount] = x;
          longRows[longCount++] = i;
        }
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 16);
      for (let k = 0; k < longCount; k++) {
        bindings.vector_assign_string_element(v, longRows[k]!, longValues[k]!);
        longValues[k] = '';
      }
      break;
    }
    case 'double': {
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i);
        if (x === null || x === undefined) {
          setNull(i);
          f64[i] = 0;
        } else f64[i] = x as number;
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 8);
      break;
    }
    case 'bigint': {
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i);
        if (x === null || x === undefined) {
          setNull(i);
          u32[2 * i] = 0;
          i32[2 * i + 1] = 0;
        } else {
          const value = Math.trunc(x as number);
          const high = Math.floor(value / TWO_32);
          u32[2 * i] = value - high * TWO_32;
          i32[2 * i + 1] = high;
        }
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 8);
      break;
    }
    case 'integer': {
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i);
        if (x === null || x === undefined) {
          setNull(i);
          i32[i] = 0;
        } else i32[i] = x as number;
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 4);
      break;
    }
    case 'smallint': {
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i);
        if (x === null || x === undefined) {
          setNull(i);
          i16[i] = 0;
        } else i16[i] = x as number;
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 2);
      break;
    }
    case 'utinyint':
    case 'boolean': {
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i);
        if (x === null || x === undefined) {
          setNull(i);
          u8[i] = 0;
        } else u8[i] = Number(x);
      }
      bindings.copy_data_to_vector(v, 0, buffer, 0, n);
      break;
    }
    case 'varchar_list': {
      // Entries are (offset: u64, length: u64), written as u32 pairs: both stay below 2^32.
      const lists: Array<readonly string[] | null> = new Array(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const x = get(rows[start + i]!, start + i) as readonly string[] | null;
        lists[i] = x;
        u32[i * 4] = total;
        u32[i * 4 + 1] = 0;
        u32[i * 4 + 2] = x ? x.length : 0;
        u32[i * 4 + 3] = 0;
        if (x === null || x === undefined) setNull(i);
        else total += x.length;
      }
      // The list entries go in first: the scratch buffer is reused for the child strings.
      bindings.copy_data_to_vector(v, 0, buffer, 0, n * 16);
      bindings.list_vector_reserve(v, total);
      bindings.list_vector_set_size(v, total);
      if (total > 0) writeListItems(bindings.list_vector_get_child(v), lists, total);
      break;
    }
  }
  if (nulls > 0) {
    bindings.vector_ensure_validity_writable(v);
    bindings.copy_data_to_vector_validity(v, 0, validity.buffer, 0, validityBytes);
  }
}

/**
 * Writes the strings of `lists` into a list's child vector, in order. Short ASCII items go
 * in as inlined slots through the scratch buffer, a buffer's worth at a time; the others
 * (and every item when the direct path is off) through the native call.
 */
function writeListItems(child: unknown, lists: ReadonlyArray<readonly string[] | null>, total: number): void {
  const v = child as Parameters<typeof bindings.vector_assign_string_element>[0];
  if (!INLINE_STRINGS) {
    let k = 0;
    for (const list of lists) if (list) for (const item of list) bindings.vector_assign_string_element(v, k++, item);
    return;
  }
  const long: Array<[number, string]> = [];
  let windowStart = 0;
  let k = 0;
  const flush = () => {
    const count = k - windowStart;
    if (count > 0) bindings.copy_data_to_vector(v, windowStart * 16, buffer, 0, count * 16);
    windowStart = k;
    u8.fill(0, 0, CHUNK_ROWS * 16);
  };
  u8.fill(0, 0, Math.min(total, CHUNK_ROWS) * 16);
  for (const list of lists) {
    if (!list) continue;
    for (const item of list) {
      if (k - windowStart === CHUNK_ROWS) flush();
      if (!writeInline(k - windowStart, item)) long.push([k, item]);
      k++;
    }
  }
  flush();
  for (const [at, item] of long) bindings.vector_assign_string_element(v, at, item);
}
