import { useMemo } from 'preact/hooks';
import { anomalyMarkers, type ChartMarker, snapMarkers } from '../anomalies.js';
import type { LlmCall, SummaryResult, SummaryRow } from '../api.js';
import { Sparkline } from '../charts.js';
import { AnomalyList, Card, FilterBar, hourAligned, RangePicker, Status, TableWrap } from '../components.js';
import {
  changeRatio,
  formatChange,
  formatCount,
  formatDurationMs,
  formatPercent,
  formatTime,
  formatUsd,
} from '../format.js';
import { useAfterPageReady, useAnomalies, useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { apiParams, type Filters, previousPeriod } from '../url-state.js';
import { FirstCall } from './first-call.js';

const HOUR_MS = 3_600_000;

/** Today and this month in local time, with the same elapsed part of the period before. */
function spendWindows(nowMs: number) {
  const now = new Date(nowMs);
  const dayStart = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const monthStart = new Date(now.getFullYear(), now.getMonth(), 1).getTime();
  const prevMonthStart = new Date(now.getFullYear(), now.getMonth() - 1, 1).getTime();
  const to = Math.ceil(nowMs / HOUR_MS) * HOUR_MS;
  return {
    today: { fromMs: dayStart, toMs: to },
    yesterday: { fromMs: dayStart - 86_400_000, toMs: to - 86_400_000 },
    month: { fromMs: monthStart, toMs: to },
    lastMonth: { fromMs: prevMonthStart, toMs: Math.min(monthStart, prevMonthStart + (to - monthStart)) },
  };
}

function total(res: SummaryResult | null): SummaryRow | null {
  return res?.rows[0] ?? null;
}

/** A period's spend: `$0.00` when nothing ran, `—` when calls ran but none has a known price. */
function spendText(res: SummaryResult | null): string {
  if (!res) return '—';
  const row = total(res);
  return row ? formatUsd(row.costUsd) : formatUsd(0);
}

/** The totals of a window; `load` false holds the request back (until the headline figures are in). */
function useTotal(w: { fromMs: number; toMs: number }, filters: Filters, load = true) {
  return useApi<SummaryResult>(load ? '/api/v1/llm/summary' : null, apiParams(w, filters));
}

export function Overview(props: PageProps) {
  const { range, filters, window } = usePageState(props.refresh);
  const span = window.toMs - window.fromMs;
  // Ranges of a day or more are widened to whole hours so hourly rollups answer them.
  const w = span >= 24 * HOUR_MS ? hourAligned(window) : window;
  const intervalMs = Math.max(span >= 24 * HOUR_MS ? HOUR_MS : 60_000, Math.ceil(span / 48 / 60_000) * 60_000);
  const interval = intervalMs % HOUR_MS === 0 ? `${intervalMs / HOUR_MS}h` : `${intervalMs / 60_000}m`;
  const spend = spendWindows(props.refresh ? Date.now() : window.toMs);

  // The headline figures load first; comparisons and side lists once they are on screen.
  const after = useAfterPageReady();
  const cur = useTotal(w, filters);
  const series = useApi<SummaryResult>('/api/v1/llm/summary', apiParams(w, filters, { interval }));
  const today = useTotal(spend.today, filters);
  const month = useTotal(spend.month, filters);
  const prev = useTotal(previousPeriod(w), filters, after);
  const yesterday = useTotal(spend.yesterday, filters, after);
  const lastMonth = useTotal(spend.lastMonth, filters, after);
  const errors = useApi<{ items: LlmCall[] }>(
    after ? '/api/v1/llm/calls' : null,
    apiParams(window, { ...filters, status: ['error'] }, { limit: 8 }),
  );

  // Meaningful once the headline figures and their sparklines can be drawn.
  usePageReady(!cur.loading && !series.loading && !today.loading && !month.loading);
  const anomalies = useAnomalies(w, filters);
  const marks = useMemo(() => {
    const by = (metric: string) => anomalyMarkers(anomalies, metric, w, filters);
    const all: ChartMarker[] = ['costUsd', 'totalTokens', 'requests', 'errorRate', 'latencyP95Ms', 'ttftP95Ms']
      .flatMap(by)
      .sort((a, b) => a.atMs - b.atMs);
    // On the sparklines, at the start of the bucket whose point they belong to.
    const spark = (metric: string) => snapMarkers(by(metric), intervalMs);
    return {
      requests: spark('requests'),
      errorRate: spark('errorRate'),
      latencyP95Ms: spark('latencyP95Ms'),
      ttftP95Ms: spark('ttftP95Ms'),
      all,
    };
  }, [anomalies, w.fromMs, w.toMs, filters, intervalMs]);
  const c = total(cur.data);
  const p = total(prev.data);
  // Until the totals arrive the figures show a dash, never a zero that is not true.
  const shown = <T,>(v: T) => (cur.data ? v : null);
  const rows = series.data?.rows ?? [];
  const xs = rows.map((r) => r.bucketStartMs / 1000);
  const noData = !cur.loading && !cur.error && cur.data !== null && (c === null || c.requests === 0);
  const monthRow = total(month.data);
  const unpriced = monthRow?.unpricedRequests ?? 0;

  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <FilterBar filters={filters} window={window} hideProject={!props.isAdmin} />
      <Status loading={false} error={cur.error} />
      {noData && Object.keys(filters).length === 0 ? (
        <FirstCall isAdmin={props.isAdmin} />
      ) : (
        <>
          <div class="kpis">
            <Kpi
              id="spend-today"
              label="Spend today"
              value={spendText(today.data)}
              change={[total(today.data)?.costUsd ?? 0, yesterday.data ? (total(yesterday.data)?.costUsd ?? 0) : null]}
              changeLabel="vs same time yesterday"
              upIsBad
            />
            <Kpi
              id="spend-month"
              label="Spend this month"
              value={spendText(month.data)}
              change={[monthRow?.costUsd ?? 0, lastMonth.data ? (total(lastMonth.data)?.costUsd ?? 0) : null]}
              changeLabel="vs same point last month"
              upIsBad
            />
            <Kpi
              id="requests"
              label="Requests"
              value={formatCount(shown(c?.requests ?? 0))}
              change={[c?.requests ?? 0, prev.data ? (p?.requests ?? 0) : null]}
              spark={{ xs, values: rows.map((r) => r.requests), markers: marks.requests }}
            />
            <Kpi
              id="error-rate"
              label="Error rate"
              value={formatPercent(shown(c?.errorRate ?? 0))}
              change={[c?.errorRate ?? 0, prev.data ? (p?.errorRate ?? 0) : null]}
              spark={{ xs, values: rows.map((r) => r.errorRate), markers: marks.errorRate }}
              upIsBad
            />
            <Kpi
              id="latency-p95"
              label="Latency p95"
              value={formatDurationMs(c?.latencyP95Ms ?? null)}
              change={[c?.latencyP95Ms ?? null, p?.latencyP95Ms ?? null]}
              spark={{ xs, values: rows.map((r) => r.latencyP95Ms), markers: marks.latencyP95Ms }}
              upIsBad
            />
            <Kpi
              id="ttft-p95"
              label="Time to first token p95"
              value={formatDurationMs(c?.ttftP95Ms ?? null)}
              change={[c?.ttftP95Ms ?? null, p?.ttftP95Ms ?? null]}
              spark={{ xs, values: rows.map((r) => r.ttftP95Ms), markers: marks.ttftP95Ms }}
              upIsBad
            />
          </div>
          <AnomalyList markers={marks.all} showMetric />
          {unpriced > 0 && (
            <p class="warning" role="status">
              <strong>{formatCount(unpriced)}</strong> calls this month have no known price, so spend shown is a lower
              bound. Add prices for their models to the price book.
            </p>
          )}
          <div class="grid3">
            <TopList title="Top models" dim="model" w={w} filters={filters} />
            {props.isAdmin && <TopList title="Top projects" dim="project" w={w} filters={filters} />}
            <TopList title="Top users" dim="user" w={w} filters={filters} />
          </div>
          <Card title="Recent errors">
            <Status loading={(errors.loading || !after) && !errors.data} error={errors.error} />
            {errors.data && errors.data.items.length === 0 && <p class="muted">No errors in this range.</p>}
            {errors.data && errors.data.items.length > 0 && (
              <TableWrap>
                <table>
                  <caption class="sr-only">The latest failed calls</caption>
                  <thead>
                    <tr>
                      <th scope="col">Time</th>
                      <th scope="col">Model</th>
                      <th scope="col">Error</th>
                      <th scope="col">User</th>
                    </tr>
                  </thead>
                  <tbody>
                    {errors.data.items.map((e) => (
                      <tr key={`${e.projectId}/${e.id}`}>
                        <td>
                          <a
                            href={`/calls?call=${encodeURIComponent(e.id)}&project=${encodeURIComponent(e.projectId)}&status=error`}
                          >
                            {formatTime(e.startTimeMs)}
                          </a>
                        </td>
                        <td>{e.model}</td>
                        <td class="wrap">{e.errorType ?? e.errorMessage ?? 'error'}</td>
                        <td>{e.userId ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Card>
        </>
      )}
    </>
  );
}

function Kpi(props: {
  id: string;
  label: string;
  value: string;
  change: [number | null, number | null];
  changeLabel?: string;
  spark?: { xs: number[]; values: Array<number | null>; markers?: readonly ChartMarker[] };
  upIsBad?: boolean;
}) {
  const r = changeRatio(props.change[0], props.change[1]);
  const tone = r === null || Math.abs(r) < 0.005 ? 'flat' : r > 0 === !!props.upIsBad ? 'bad' : 'good';
  return (
    <div class="kpi" data-kpi={props.id}>
      <div class="kpi-label">{props.label}</div>
      <div class="kpi-value" data-value>
        {props.value}
      </div>
      <div class={`kpi-change ${tone}`}>
        {formatChange(props.change[0], props.change[1])}{' '}
        <span class="muted">{props.changeLabel ?? 'vs previous period'}</span>
      </div>
      {props.spark && props.spark.xs.length > 1 && (
        <Sparkline
          xs={props.spark.xs}
          values={props.spark.values}
          markers={props.spark.markers}
          label={`${props.label} over the range`}
        />
      )}
    </div>
  );
}

function TopList(props: { title: string; dim: string; w: { fromMs: number; toMs: number }; filters: Filters }) {
  const after = useAfterPageReady();
  const res = useApi<SummaryResult>(
    after ? '/api/v1/llm/summary' : null,
    apiParams(props.w, props.filters, { groupBy: props.dim, orderBy: 'costUsd', limit: 5 }),
  );
  const rows = res.data?.rows ?? [];
  return (
    <Card title={props.title}>
      <Status loading={(res.loading || !after) && !res.data} error={res.error} />
      {res.data && rows.length === 0 && <p class="muted">Nothing in this range.</p>}
      {rows.length > 0 && (
        <table class="compact" data-top={props.dim}>
          <caption class="sr-only">{props.title} by cost</caption>
          <thead>
            <tr>
              <th scope="col">{props.dim}</th>
              <th scope="col" class="num">
                Cost
              </th>
              <th scope="col" class="num">
                Requests
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const v = r.group[props.dim];
              return (
                <tr key={v ?? '(none)'}>
                  <td>
                    {v ? (
                      <a href={`/cost?groupBy=${props.dim}&${props.dim}=${encodeURIComponent(v)}`}>{v}</a>
                    ) : (
                      <span class="muted">(none)</span>
                    )}
                  </td>
                  <td class="num">{formatUsd(r.costUsd)}</td>
                  <td class="num">{formatCount(r.requests)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
