/**
 * `reskpoints logs search|tail|patterns`: log search, a live tail over the events WebSocket,
 * and pattern statistics (new patterns and rate changes) from a running server. Any token: a
 * project key reads its own project; the admin token reads every project (or `--project`).
 */
import { LOG_SEVERITIES } from '@reskpoints/core';
import WebSocket from 'ws';
import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { formatTime, renderTable } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';

export interface LogsClientOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
  project?: string[];
  service?: string[];
  severity?: string[];
}

interface LogLine {
  id: string;
  projectId?: string;
  timeMs: number;
  serviceName: string | null;
  severity: string;
  body: string;
  traceId: string | null;
  patternId: string | null;
}

const flat = (v: string[] | undefined): string[] =>
  (v ?? [])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

function severityProblems(list: string[]): string[] {
  return list
    .filter((s) => !(LOG_SEVERITIES as readonly string[]).includes(s))
    .map((s) => `--severity: expected one of ${LOG_SEVERITIES.join(', ')}, got ${JSON.stringify(s)}`);
}

function lineText(l: LogLine): string {
  const trace = l.traceId ? ` trace=${l.traceId}` : '';
  return `${formatTime(l.timeMs)} ${l.severity.toUpperCase().padEnd(5)} ${l.serviceName ?? '-'} ${l.body.replace(/\n/g, '\\n')}${trace}`;
}

function client(o: LogsClientOptions, io: CliIo): ApiClient {
  const target = resolveClientTarget(o, io);
  return new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
}

function baseQuery(o: LogsClientOptions, since: string, to?: string): URLSearchParams {
  const q = new URLSearchParams({ from: `now-${since}` });
  if (to) q.set('to', to);
  for (const p of flat(o.project)) q.append('project', p);
  for (const s of flat(o.service)) q.append('service', s);
  const sev = flat(o.severity);
  if (sev.length) q.set('severity', sev.join(','));
  return q;
}

export interface LogsSearchOptions extends LogsClientOptions {
  since?: string;
  to?: string;
  pattern?: string[];
  trace?: string;
  q?: string;
  limit?: string;
  cursor?: string;
}

/** `reskpoints logs search`: matching lines, newest first, one page (`--cursor` for the next). */
export async function runLogsSearch(o: LogsSearchOptions, io: CliIo): Promise<number> {
  const problems = severityProblems(flat(o.severity));
  if (o.limit !== undefined && !/^\d+$/.test(o.limit)) problems.push('--limit: expected a whole number');
  if (problems.length) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const q = baseQuery(o, o.since ?? '1h', o.to);
  for (const p of flat(o.pattern)) q.append('pattern', p);
  if (o.trace) q.set('traceId', o.trace);
  if (o.q) q.set('q', o.q);
  q.set('limit', o.limit ?? '100');
  if (o.cursor) q.set('cursor', o.cursor);
  const r = await client(o, io).request<{ items: LogLine[]; nextCursor: string | null }>({
    method: 'GET',
    path: '/api/v1/logs',
    query: q,
  });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  if (r.value.items.length === 0) println(io.stdout, 'No log lines match.');
  for (const l of r.value.items) println(io.stdout, lineText(l));
  if (r.value.nextCursor) println(io.stderr, `more: --cursor ${r.value.nextCursor}`);
  return EXIT_OK;
}

export interface LogsTailOptions extends LogsClientOptions {
  pattern?: string[];
  q?: string;
  /** Exit after this many lines. */
  count?: string;
  /** Lines from search printed before following (default 10). */
  lines?: string;
}

/**
 * `reskpoints logs tail`: the last lines, then new lines as they are stored (the `logs` topic of
 * `/api/v1/events`), filtered here by service, severity, pattern and text. Runs until
 * interrupted or `--count` lines were printed.
 */
export async function runLogsTail(o: LogsTailOptions, io: CliIo): Promise<number> {
  const severities = flat(o.severity);
  const problems = severityProblems(severities);
  for (const [name, v] of [
    ['--count', o.count],
    ['--lines', o.lines],
  ] as const)
    if (v !== undefined && !/^\d+$/.test(v)) problems.push(`${name}: expected a whole number`);
  if (problems.length) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const services = new Set(flat(o.service));
  const patterns = new Set(flat(o.pattern));
  const sev = new Set(severities);
  const text = o.q?.toLowerCase();
  const max = o.count === undefined ? Number.POSITIVE_INFINITY : Number(o.count);
  let printed = 0;
  const print = (l: LogLine) => {
    if (printed >= max) return;
    printed++;
    println(io.stdout, o.json ? JSON.stringify(l) : lineText(l));
  };
  const target = resolveClientTarget(o, io);

  const back = Number(o.lines ?? '10');
  if (back > 0) {
    const q = baseQuery(o, '1h');
    for (const p of patterns) q.append('pattern', p);
    if (o.q) q.set('q', o.q);
    q.set('limit', String(Math.min(back, 1000)));
    const r = await client(o, io).request<{ items: LogLine[] }>({ method: 'GET', path: '/api/v1/logs', query: q });
    if (!r.ok) {
      println(io.stderr, `error: ${describeApiFailure(r.error)}`);
      return EXIT_FAILURE;
    }
    for (const l of [...r.value.items].reverse()) print(l);
  }
  if (printed >= max) return EXIT_OK;

  const wsUrl = new URL('/api/v1/events', target.url.replace(/^http/, 'ws'));
  wsUrl.searchParams.set('topics', 'logs');
  const projects = flat(o.project);
  if (projects.length) wsUrl.searchParams.set('project', projects.join(','));
  return new Promise<number>((resolve) => {
    const socket = new WebSocket(wsUrl, {
      headers: target.token ? { authorization: `Bearer ${target.token}` } : {},
    });
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      socket.close();
      resolve(code);
    };
    io.onSignal('SIGINT', () => finish(EXIT_OK));
    io.onSignal('SIGTERM', () => finish(EXIT_OK));
    socket.on('unexpected-response', (_req, res) => {
      println(io.stderr, `error: the server refused the live tail: HTTP ${res.statusCode}`);
      finish(EXIT_FAILURE);
    });
    socket.on('error', (e) => {
      println(io.stderr, `error: live tail: ${e.message}`);
      finish(EXIT_FAILURE);
    });
    socket.on('close', () => finish(finished ? EXIT_OK : EXIT_FAILURE));
    socket.on('message', (raw) => {
      let event: { topic?: string; projectId?: string; data?: { items?: LogLine[]; omitted?: number } };
      try {
        event = JSON.parse(String(raw));
      } catch {
        return;
      }
      if (event.topic !== 'logs') return;
      for (const l of event.data?.items ?? []) {
        if (services.size && !services.has(l.serviceName ?? '')) continue;
        if (sev.size && !sev.has(l.severity)) continue;
        if (patterns.size && !patterns.has(l.patternId ?? '')) continue;
        if (text && !l.body.toLowerCase().includes(text)) continue;
        print({ ...l, ...(event.projectId ? { projectId: event.projectId } : {}) });
      }
      if (event.data?.omitted) println(io.stderr, `(${event.data.omitted} lines not shown: too many at once)`);
      if (printed >= max) finish(EXIT_OK);
    });
  });
}

interface PatternDto {
  service: string | null;
  patternId: string | null;
  template: string | null;
  count: number;
  bytes: number;
  ratePerMinute: number;
  severities: Record<string, number>;
  examples: string[];
  isNew: boolean;
  rateChange: { zScore: number } | null;
}

export interface LogsPatternsOptions extends LogsClientOptions {
  since?: string;
  new?: boolean;
  changed?: boolean;
  /** |z-score| at or above which a pattern counts as changed (default 3). */
  z?: string;
  limit?: string;
}

/** `reskpoints logs patterns`: per pattern count, bytes, rate, severity mix, new and rate change. */
export async function runLogsPatterns(o: LogsPatternsOptions, io: CliIo): Promise<number> {
  const problems = severityProblems(flat(o.severity));
  const z = Number(o.z ?? '3');
  if (!Number.isFinite(z) || z <= 0) problems.push('--z: expected a positive number');
  if (o.limit !== undefined && !/^\d+$/.test(o.limit)) problems.push('--limit: expected a whole number');
  if (problems.length) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const r = await client(o, io).request<{ patterns: PatternDto[] }>({
    method: 'GET',
    path: '/api/v1/logs/patterns',
    query: baseQuery(o, o.since ?? '24h'),
  });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  const changed = (p: PatternDto) => Math.abs(p.rateChange?.zScore ?? 0) >= z;
  const list = r.value.patterns
    .filter((p) => (!o.new && !o.changed) || (o.new && p.isNew) || (o.changed && changed(p)))
    .slice(0, o.limit ? Number(o.limit) : 100);
  if (o.json) {
    println(io.stdout, JSON.stringify({ patterns: list }, null, 2));
    return EXIT_OK;
  }
  if (list.length === 0) {
    println(io.stdout, 'No patterns match.');
    return EXIT_OK;
  }
  const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);
  println(
    io.stdout,
    renderTable(
      [
        { header: 'service' },
        { header: 'pattern' },
        { header: 'lines', align: 'right' },
        { header: 'per min', align: 'right' },
        { header: 'bytes', align: 'right' },
        { header: 'severities' },
        { header: 'new' },
        { header: 'z', align: 'right' },
        { header: 'template' },
      ],
      list.map((p) => [
        p.service ?? '',
        p.patternId ?? '',
        String(p.count),
        p.ratePerMinute.toFixed(2),
        String(p.bytes),
        Object.entries(p.severities)
          .map(([k, v]) => `${k}:${v}`)
          .join(' '),
        p.isNew ? 'new' : '',
        p.rateChange ? p.rateChange.zScore.toFixed(1) : '',
        cut(p.template ?? p.examples[0] ?? '', 80),
      ]),
    ),
  );
  return EXIT_OK;
}
