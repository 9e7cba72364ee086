/** SQL of the log reads on DuckDB: search with a keyset cursor, pattern counts and pattern rates. */
import { LOG_SEVERITIES, type LogSearchQuery } from '@reskpoints/core';
import { decodeLlmCallCursorOrThrow } from '../llm-call-cursor.js';
import { sqlString } from './duckdb-database.js';

function safeInt(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`expected a safe integer, got ${n}`);
  return n;
}

const inList = (column: string, values: readonly string[]) => `${column} IN (${values.map(sqlString).join(', ')})`;

/** LIKE pattern matching `text` literally anywhere. */
function containsPattern(text: string): string {
  return sqlString(`%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

export function logConditions(q: LogSearchQuery): string[] {
  const f = q.filter;
  const out = [`time_ms >= ${safeInt(q.fromMs)}`, `time_ms < ${safeInt(q.toMs)}`];
  if (f.projectIds?.length) out.push(inList('project_id', f.projectIds));
  if (f.services?.length) out.push(inList('service_name', f.services));
  if (f.environments?.length) out.push(inList('environment', f.environments));
  if (f.severities?.length) out.push(inList('severity', f.severities));
  if (f.patternIds?.length) out.push(inList('pattern_id', f.patternIds));
  if (f.traceId !== undefined) out.push(`trace_id = ${sqlString(f.traceId)}`);
  if (f.text) out.push(`body ILIKE ${containsPattern(f.text)} ESCAPE '\\'`);
  return out;
}

export const LOG_SELECT =
  'project_id, id, time_ms, observed_time_ms, ingested_at_ms, source, service_name, environment, severity, severity_number, severity_text, body, trace_id, span_id, event_name, pattern_id, attributes, resource';

export function searchLogsSql(q: LogSearchQuery): string {
  const where = logConditions(q);
  if (q.cursor !== undefined) {
    const cur = decodeLlmCallCursorOrThrow(q.cursor);
    const t = safeInt(cur.startTimeMs);
    const id = sqlString(cur.id);
    const p = sqlString(cur.projectId ?? '');
    where.push(`(time_ms < ${t} OR (time_ms = ${t} AND (id < ${id} OR (id = ${id} AND project_id < ${p}))))`);
  }
  return `SELECT ${LOG_SELECT} FROM logs WHERE ${where.join(' AND ')}
          ORDER BY time_ms DESC, id DESC, project_id DESC LIMIT ${safeInt(q.limit) + 1}`;
}

export function logPatternCountsSql(q: LogSearchQuery): string {
  const severities = LOG_SEVERITIES.map((s) => `count(*) FILTER (WHERE severity = '${s}') AS sev_${s}`).join(', ');
  return `SELECT project_id, service_name, pattern_id, count(*) AS n, sum(strlen(body)) AS bytes,
                 min(time_ms) AS first_ms, max(time_ms) AS last_ms, ${severities}, any_value(body) AS example
          FROM logs WHERE ${logConditions(q).join(' AND ')}
          GROUP BY project_id, service_name, pattern_id ORDER BY n DESC`;
}

export function logPatternRatesSql(q: LogSearchQuery, bucketMs: number): string {
  const b = safeInt(bucketMs);
  return `SELECT (time_ms // ${b}) * ${b} AS bucket, service_name, pattern_id, count(*) AS n
          FROM logs WHERE ${logConditions(q).join(' AND ')}
          GROUP BY bucket, service_name, pattern_id ORDER BY bucket`;
}
