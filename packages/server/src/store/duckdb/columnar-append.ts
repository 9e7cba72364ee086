/**
 * Fast bulk loading into DuckDB: rows are written column by column into data chunks and
 * handed to an appender chunk by chunk.
 *
 * Why not `appender.appendX()` per value: each value is a native call, which caps a
 * 37-column LLM-call row at roughly 90k rows/s on the reference machine. Here numbers are
 * written into typed arrays and copied into the vector with one native call per column per
 * chunk; only non-null strings cost one native call each. See docs/storage.md for figures.
 */
import {
  DOUBLE,
  type DuckDBAppender,
  DuckDBDataChunk,
  type DuckDBType,
  INTEGER,
  LIST,
  VARCHAR,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';

/** How a column travels: `double` also carries integers up to 2^53 (cast to BIGINT in SQL). */
export type StagingColumnKind = 'varchar' | 'double' | 'integer' | 'varchar_list';

export interface StagingColumn<T> {
  name: string;
  kind: StagingColumnKind;
  /** `index` is the row's position in the array being appended. */
  get: (row: T, index: number) => string | number | null | readonly string[];
}

export function stagingSqlType(kind: StagingColumnKind): string {
  switch (kind) {
    case 'varchar':
      return 'VARCHAR';
    case 'double':
      return 'DOUBLE';
    case 'integer':
      return 'INTEGER';
    case 'varchar_list':
      return 'VARCHAR[]';
  }
}

function duckType(kind: StagingColumnKind): DuckDBType {
  switch (kind) {
    case 'varchar':
      return VARCHAR;
    case 'double':
      return DOUBLE;
    case 'integer':
      return INTEGER;
    case 'varchar_list':
      return LIST(VARCHAR);
  }
}

/** Rows per chunk: DuckDB's standard vector size. */
const CHUNK_ROWS = bindings.vector_size();

/** Writes `rows` through `appender` (whose table has exactly `columns`, in order). */
export function appendColumnar<T>(
  appender: DuckDBAppender,
  columns: readonly StagingColumn<T>[],
  rows: readonly T[],
): void {
  const types = columns.map((c) => duckType(c.kind));
  const validityBytes = Math.ceil(CHUNK_ROWS / 64) * 8;
  const validity = new Uint8Array(validityBytes);
  const f64 = new Float64Array(CHUNK_ROWS);
  const i32 = new Int32Array(CHUNK_ROWS);
  // List entries are (offset: u64, length: u64); written as u32 pairs since both stay < 2^32.
  const listEntries = new Uint32Array(CHUNK_ROWS * 4);
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows.length - start);
    const chunk = DuckDBDataChunk.create(types, n);
    const raw = chunk.chunk;
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!;
      const vector = bindings.data_chunk_get_vector(raw, c);
      const get = column.get;
      let nulls = 0;
      validity.fill(0xff);
      switch (column.kind) {
        case 'varchar': {
          for (let i = 0; i < n; i++) {
            const v = get(rows[start + i]!, start + i);
            if (v === null || v === undefined) {
              validity[i >> 3]! &= ~(1 << (i & 7));
              nulls++;
            } else bindings.vector_assign_string_element(vector, i, v as string);
          }
          break;
        }
        case 'double': {
          for (let i = 0; i < n; i++) {
            const v = get(rows[start + i]!, start + i);
            if (v === null || v === undefined) {
              validity[i >> 3]! &= ~(1 << (i & 7));
              nulls++;
              f64[i] = 0;
            } else f64[i] = v as number;
          }
          bindings.copy_data_to_vector(vector, 0, f64.buffer, 0, n * 8);
          break;
        }
        case 'integer': {
          for (let i = 0; i < n; i++) {
            const v = get(rows[start + i]!, start + i);
            if (v === null || v === undefined) {
              validity[i >> 3]! &= ~(1 << (i & 7));
              nulls++;
              i32[i] = 0;
            } else i32[i] = v as number;
          }
          bindings.copy_data_to_vector(vector, 0, i32.buffer, 0, n * 4);
          break;
        }
        case 'varchar_list': {
          const lists: Array<readonly string[] | null> = new Array(n);
          let total = 0;
          for (let i = 0; i < n; i++) {
            const v = get(rows[start + i]!, start + i) as readonly string[] | null;
            lists[i] = v;
            listEntries[i * 4] = total;
            listEntries[i * 4 + 1] = 0;
            listEntries[i * 4 + 2] = v ? v.length : 0;
            listEntries[i * 4 + 3] = 0;
            if (v === null || v === undefined) {
              validity[i >> 3]! &= ~(1 << (i & 7));
              nulls++;
            } else total += v.length;
          }
          bindings.list_vector_reserve(vector, total);
          bindings.list_vector_set_size(vector, total);
          const child = bindings.list_vector_get_child(vector);
          let k = 0;
          for (let i = 0; i < n; i++) {
            const list = lists[i];
            if (!list) continue;
            for (const item of list) bindings.vector_assign_string_element(child, k++, item);
          }
          bindings.copy_data_to_vector(vector, 0, listEntries.buffer, 0, n * 16);
          break;
        }
      }
      if (nulls > 0) {
        bindings.vector_ensure_validity_writable(vector);
        bindings.copy_data_to_vector_validity(vector, 0, validity.buffer, 0, validityBytes);
      }
    }
    appender.appendDataChunk(chunk);
  }
}
