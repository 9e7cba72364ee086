import { useState } from 'preact/hooks';
import type { LlmCall, TraceDetail, TraceSpan, TraceSummary } from '../api.js';
import { Card, FilterBar, Pager, RangePicker, Status, TableWrap } from '../components.js';
import { formatCount, formatDurationMs, formatTime, formatUsd } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { useLocation } from '../router.js';
import { apiParams } from '../url-state.js';
import { CallDrawer } from './calls.js';

const PAGE = 50;

export function Traces(props: PageProps) {
  const { path } = useLocation();
  const id = path.startsWith('/traces/') ? decodeURIComponent(path.slice('/traces/'.length)) : null;
  return id ? <TraceView traceId={id} isAdmin={props.isAdmin} /> : <TraceList {...props} />;
}

function TraceList(props: PageProps) {
  const { params, range, filters, window } = usePageState(props.refresh);
  // Cursors of the pages before this one; a new range or filter starts again at the newest.
  const [cursors, setCursors] = useState<string[]>([]);
  const key = `${params.toString()}#${props.refresh}`;
  const [pageKey, setPageKey] = useState(key);
  if (pageKey !== key) {
    setPageKey(key);
    if (cursors.length > 0) setCursors([]);
  }
  const res = useApi<{ items: TraceSummary[]; nextCursor: string | null }>(
    '/api/v1/traces',
    apiParams(window, filters, { limit: PAGE, cursor: cursors[cursors.length - 1] }),
  );
  usePageReady(!res.loading);
  return (
    <>
      <div class="page-head">
        <h1>Traces</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <FilterBar filters={filters} window={window} hideProject={!props.isAdmin} />
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && res.data.items.length === 0 && (
        <p class="muted">
          No traces with LLM calls in this range. Calls sent over OTLP (or with a trace id) are grouped into traces.
        </p>
      )}
      {res.data && res.data.items.length > 0 && (
        <TableWrap>
          <table data-traces>
            <caption class="sr-only">Traces with LLM calls, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Root</th>
                {props.isAdmin && <th scope="col">Project</th>}
                <th scope="col">Models</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col" class="num">
                  Duration
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {res.data.items.map((t) => (
                <tr key={`${t.projectId}/${t.traceId}`}>
                  <td>
                    <a href={`/traces/${encodeURIComponent(t.traceId)}?project=${encodeURIComponent(t.projectId)}`}>
                      {formatTime(t.startTimeMs)}
                    </a>
                  </td>
                  <td>{t.rootSpanName ?? <span class="muted">{t.traceId.slice(0, 12)}…</span>}</td>
                  {props.isAdmin && <td>{t.projectId}</td>}
                  <td>{t.models.join(', ')}</td>
                  <td class="num">{formatCount(t.llmCalls)}</td>
                  <td class="num">{formatCount(t.errors)}</td>
                  <td class="num">{formatDurationMs(t.endTimeMs - t.startTimeMs)}</td>
                  <td class="num">{formatUsd(t.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {(cursors.length > 0 || res.data?.nextCursor) && (
        <Pager
          page={cursors.length + 1}
          onNewer={cursors.length > 0 ? () => setCursors(cursors.slice(0, -1)) : null}
          onOlder={res.data?.nextCursor ? () => setCursors([...cursors, res.data!.nextCursor!]) : null}
        />
      )}
    </>
  );
}

interface WaterfallRow {
  key: string;
  depth: number;
  name: string;
  service: string | null;
  startMs: number;
  durationMs: number;
  error: boolean;
  costUsd: number | null;
  call: LlmCall | null;
  detail: string;
}

/** Spans depth-first by start time, each followed by its LLM calls; calls without a stored span hang under their parent. */
export function waterfallRows(trace: TraceDetail): WaterfallRow[] {
  const spanIds = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string | null, TraceSpan[]>();
  for (const s of trace.spans) {
    const parent = s.parentSpanId && spanIds.has(s.parentSpanId) ? s.parentSpanId : null;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  const callsUnder = new Map<string | null, LlmCall[]>();
  for (const c of trace.llmCalls) {
    const owner =
      c.spanId && spanIds.has(c.spanId)
        ? c.spanId
        : c.parentSpanId && spanIds.has(c.parentSpanId)
          ? c.parentSpanId
          : null;
    const list = callsUnder.get(owner) ?? [];
    list.push(c);
    callsUnder.set(owner, list);
  }
  const rows: WaterfallRow[] = [];
  const callRow = (c: LlmCall, depth: number): WaterfallRow => ({
    key: `call:${c.projectId}/${c.id}`,
    depth,
    name: `${c.operation} ${c.model}`,
    service: c.serviceName,
    startMs: c.startTimeMs,
    durationMs: c.latencyMs,
    error: c.status === 'error',
    costUsd: c.cost?.totalUsd ?? null,
    call: c,
    detail: `${formatCount(c.usage.totalTokens)} tokens`,
  });
  const visit = (parent: string | null, depth: number) => {
    const spans = (children.get(parent) ?? []).sort((a, b) => a.startTimeMs - b.startTimeMs);
    for (const s of spans) {
      rows.push({
        key: `span:${s.projectId}/${s.spanId}`,
        depth,
        name: s.name,
        service: s.serviceName,
        startMs: s.startTimeMs,
        durationMs: s.durationMs,
        error: s.statusCode === 'error',
        costUsd: s.costUsd,
        call: null,
        detail: s.statusMessage ?? s.kind,
      });
      for (const c of callsUnder.get(s.spanId) ?? []) rows.push(callRow(c, depth + 1));
      visit(s.spanId, depth + 1);
    }
  };
  for (const c of callsUnder.get(null) ?? []) rows.push(callRow(c, 0));
  visit(null, 0);
  return rows;
}

function TraceView(props: { traceId: string; isAdmin: boolean }) {
  const { params } = useLocation();
  const project = params.get('project');
  const q = new URLSearchParams();
  if (project && props.isAdmin) q.set('project', project);
  const res = useApi<TraceDetail>(`/api/v1/traces/${encodeURIComponent(props.traceId)}`, q);
  const [open, setOpen] = useState<LlmCall | null>(null);
  usePageReady(!res.loading);
  const t = res.data;
  const rows = t ? waterfallRows(t) : [];
  const span = t ? Math.max(1, t.durationMs) : 1;
  return (
    <>
      <div class="page-head">
        <h1>
          Trace <code>{props.traceId}</code>
        </h1>
        <a class="btn" href="/traces">
          All traces
        </a>
      </div>
      <Status loading={res.loading && !t} error={res.error} />
      {t && (
        <>
          <div class="kpis small">
            <div class="kpi">
              <div class="kpi-label">Started</div>
              <div class="kpi-value">{formatTime(t.startTimeMs)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Duration</div>
              <div class="kpi-value">{formatDurationMs(t.durationMs)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">LLM calls</div>
              <div class="kpi-value">{formatCount(t.llmCalls.length)}</div>
            </div>
            <div class="kpi">
              <div class="kpi-label">Errors</div>
              <div class="kpi-value">{formatCount(t.errors)}</div>
            </div>
            <div class="kpi" data-kpi="trace-cost">
              <div class="kpi-label">Cost</div>
              <div class="kpi-value">{formatUsd(t.costUsd)}</div>
            </div>
          </div>
          <Card title="Waterfall">
            <TableWrap>
              <table class="waterfall" data-waterfall>
                <caption class="sr-only">Spans and LLM calls of the trace, with start offset and duration</caption>
                <thead>
                  <tr>
                    <th scope="col">Span or call</th>
                    <th scope="col" class="timeline-col">
                      Timeline
                    </th>
                    <th scope="col" class="num">
                      Duration
                    </th>
                    <th scope="col" class="num">
                      Cost
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => {
                    const left = ((r.startMs - t.startTimeMs) / span) * 100;
                    const width = Math.max(0.5, (r.durationMs / span) * 100);
                    return (
                      <tr key={r.key} class={`${r.call ? 'is-call' : 'is-span'}${r.error ? ' row-error' : ''}`}>
                        <th scope="row" style={{ paddingLeft: `${0.5 + r.depth * 1.1}rem` }}>
                          {r.call ? (
                            <button type="button" class="link" onClick={() => setOpen(r.call)}>
                              {r.name}
                            </button>
                          ) : (
                            r.name
                          )}
                          {r.error && <span class="pill error">error</span>}
                          <div class="muted small">
                            {r.service ?? ''} {r.detail}
                          </div>
                        </th>
                        <td class="timeline-col">
                          <div class="bar-track" aria-hidden="true">
                            <div
                              class={`bar ${r.call ? 'call' : 'span'}${r.error ? ' error' : ''}`}
                              style={{
                                left: `${Math.min(99.5, left)}%`,
                                width: `${Math.min(100 - Math.min(99.5, left), width)}%`,
                              }}
                            />
                          </div>
                          <span class="sr-only">starts at +{formatDurationMs(r.startMs - t.startTimeMs)}</span>
                        </td>
                        <td class="num">{formatDurationMs(r.durationMs)}</td>
                        <td class="num">{r.call || r.costUsd !== null ? formatUsd(r.costUsd) : ''}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableWrap>
          </Card>
        </>
      )}
      {open && <CallDrawer call={open} onClose={() => setOpen(null)} />}
    </>
  );
}
