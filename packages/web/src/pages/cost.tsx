import { useMemo } from 'preact/hooks';
import { anomalyMarkers, snapMarkers } from '../anomalies.js';
import type { SummaryResult, SummaryRow } from '../api.js';
import { type ChartSeries, PALETTE, TimeChart } from '../charts.js';
import { AnomalyList, Card, download, FilterBar, hourAligned, RangePicker, Status, TableWrap } from '../components.js';
import { formatChange, formatCount, formatPercent, formatUsd } from '../format.js';
import { useAfterPageReady, useAnomalies, useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';
import { apiParams, pickInterval, previousPeriod, rollingAverage, toCsv } from '../url-state.js';

export const COST_DIMENSIONS = [
  'model',
  'project',
  'provider',
  'environment',
  'operation',
  'user',
  'service',
  'status',
] as const;
const METRICS = {
  costUsd: { label: 'Cost', format: (v: number | null) => formatUsd(v) },
  requests: { label: 'Requests', format: (v: number | null) => formatCount(v, true) },
  totalTokens: { label: 'Tokens', format: (v: number | null) => formatCount(v, true) },
} as const;
type Metric = keyof typeof METRICS;
const MAX_STACKED = 8;
const HOUR_MS = 3_600_000;

function metricOf(r: SummaryRow, m: Metric): number | null {
  const v = r[m];
  return typeof v === 'number' ? v : null;
}

export function CostExplorer(props: PageProps) {
  const { params, range, filters, window } = usePageState(props.refresh);
  const dimParam = params.get('groupBy') ?? 'model';
  const dim = (COST_DIMENSIONS as readonly string[]).includes(dimParam) ? dimParam : 'model';
  const metricParam = params.get('metric') ?? 'costUsd';
  const metric: Metric = metricParam in METRICS ? (metricParam as Metric) : 'costUsd';
  const rolling = Number(params.get('rolling') ?? '0') || 0;
  const span = window.toMs - window.fromMs;
  const w = span >= 24 * HOUR_MS ? hourAligned(window) : window;
  const picked = pickInterval(w.toMs - w.fromMs, 96);
  const interval = span >= 24 * HOUR_MS && picked.ms < HOUR_MS ? { ms: HOUR_MS, param: '1h' } : picked;
  const prevW = previousPeriod(w);

  const series = useApi<SummaryResult>(
    '/api/v1/llm/summary',
    apiParams(w, filters, { groupBy: dim, interval: interval.param }),
  );
  const cur = useApi<SummaryResult>(
    '/api/v1/llm/summary',
    apiParams(w, filters, { groupBy: dim, orderBy: 'costUsd', limit: 100 }),
  );
  // The previous period only feeds the comparison columns: asked once the chart and table are in.
  const after = useAfterPageReady();
  const prev = useApi<SummaryResult>(
    after ? '/api/v1/llm/summary' : null,
    apiParams(prevW, filters, { groupBy: dim, orderBy: 'costUsd', limit: 100 }),
  );

  usePageReady(!series.loading && !cur.loading);

  const chart = useMemo(() => {
    const rows = series.data?.rows ?? [];
    const totals = new Map<string, number>();
    for (const r of rows) {
      const k = r.group[dim] ?? '(none)';
      totals.set(k, (totals.get(k) ?? 0) + (metricOf(r, metric) ?? 0));
    }
    const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    const shown = ranked.slice(0, MAX_STACKED);
    const hasOther = ranked.length > MAX_STACKED;
    const start = Math.floor(w.fromMs / interval.ms) * interval.ms;
    const xs: number[] = [];
    for (let t = start; t < w.toMs; t += interval.ms) xs.push(t);
    const index = new Map(xs.map((t, i) => [t, i]));
    const lines = new Map<string, Array<number | null>>();
    for (const k of [...shown, ...(hasOther ? ['other'] : [])])
      lines.set(
        k,
        xs.map(() => 0),
      );
    for (const r of rows) {
      const i = index.get(r.bucketStartMs);
      if (i === undefined) continue;
      const k = r.group[dim] ?? '(none)';
      const line = lines.get(shown.includes(k) ? k : 'other');
      if (line) line[i] = (line[i] ?? 0) + (metricOf(r, metric) ?? 0);
    }
    const chartSeries: ChartSeries[] = [...lines.entries()].map(([label, values], i) => ({
      label,
      values,
      color: label === 'other' ? '#64748b' : PALETTE[i % PALETTE.length],
    }));
    const total = xs.map((_, i) => chartSeries.reduce((s, c) => s + (c.values[i] ?? 0), 0));
    const overlay: ChartSeries[] =
      rolling > 1
        ? [{ label: `Total, ${rolling}-bucket rolling average`, values: rollingAverage(total, rolling), dash: true }]
        : [];
    return { xs: xs.map((t) => t / 1000), series: chartSeries, overlay, total };
  }, [series.data, dim, metric, rolling, w.fromMs, w.toMs, interval.ms]);

  const anomalies = useAnomalies(w, filters);
  const markers = useMemo(
    () => anomalyMarkers(anomalies, metric, w, filters),
    [anomalies, metric, w.fromMs, w.toMs, filters],
  );
  const chartMarkers = useMemo(() => snapMarkers(markers, interval.ms), [markers, interval.ms]);

  const breakdown = useMemo(() => {
    const prevBy = new Map((prev.data?.rows ?? []).map((r) => [r.group[dim] ?? '(none)', r]));
    const rows = cur.data?.rows ?? [];
    const sum = (rs: SummaryRow[]) => rs.reduce((s, r) => s + (metricOf(r, metric) ?? 0), 0);
    const curTotal = sum(rows);
    const prevTotal = sum(prev.data?.rows ?? []);
    const delta = curTotal - prevTotal;
    const keys = new Set([...rows.map((r) => r.group[dim] ?? '(none)'), ...prevBy.keys()]);
    const curBy = new Map(rows.map((r) => [r.group[dim] ?? '(none)', r]));
    const out = [...keys].map((k) => {
      const c = curBy.get(k);
      const p = prevBy.get(k);
      const cv = c ? (metricOf(c, metric) ?? 0) : 0;
      const pv = p ? (metricOf(p, metric) ?? 0) : 0;
      const known = prev.data !== null;
      return {
        key: k,
        current: c ? metricOf(c, metric) : 0,
        previous: !known ? null : p ? metricOf(p, metric) : 0,
        requests: c?.requests ?? 0,
        tokens: c?.totalTokens ?? 0,
        unpriced: c?.unpricedRequests ?? 0,
        share: curTotal > 0 ? cv / curTotal : null,
        change: known ? cv - pv : null,
        // Which groups explain the change of the total.
        attribution: known && delta !== 0 ? (cv - pv) / delta : null,
      };
    });
    out.sort((a, b) => (b.current ?? 0) - (a.current ?? 0) || Math.abs(b.change ?? 0) - Math.abs(a.change ?? 0));
    return { rows: out, curTotal, prevTotal: prev.data ? prevTotal : null, delta };
  }, [cur.data, prev.data, dim, metric]);

  const fmt = METRICS[metric].format;
  const set = (k: string, v: string) =>
    setParams((p) => {
      if (v) p.set(k, v);
      else p.delete(k);
    }, true);
  const exportName = `reskpoints-${metric}-by-${dim}-${new Date(w.fromMs).toISOString().slice(0, 10)}`;
  const exportCsv = () =>
    download(
      `${exportName}.csv`,
      'text/csv',
      toCsv(
        [
          dim,
          `${metric}`,
          `previous_${metric}`,
          'change',
          'attribution',
          'requests',
          'total_tokens',
          'unpriced_requests',
        ],
        breakdown.rows.map((r) => [
          r.key,
          r.current,
          r.previous,
          r.change,
          r.attribution,
          r.requests,
          r.tokens,
          r.unpriced,
        ]),
      ),
    );
  const exportJson = () =>
    download(
      `${exportName}.json`,
      'application/json',
      JSON.stringify(
        {
          from: new Date(w.fromMs).toISOString(),
          to: new Date(w.toMs).toISOString(),
          groupBy: dim,
          metric,
          filters,
          breakdown: breakdown.rows,
          series: series.data?.rows ?? [],
        },
        null,
        2,
      ),
    );

  return (
    <>
      <div class="page-head">
        <h1>Cost explorer</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <FilterBar filters={filters} window={window} hideProject={!props.isAdmin} />
      <div class="toolbar">
        <label>
          <span class="label">Group by</span>
          <select value={dim} onChange={(e) => set('groupBy', (e.target as HTMLSelectElement).value)}>
            {COST_DIMENSIONS.filter((d) => props.isAdmin || d !== 'project').map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span class="label">Measure</span>
          <select value={metric} onChange={(e) => set('metric', (e.target as HTMLSelectElement).value)}>
            {(Object.keys(METRICS) as Metric[]).map((m) => (
              <option key={m} value={m}>
                {METRICS[m].label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span class="label">Rolling average</span>
          <select
            value={String(rolling)}
            onChange={(e) =>
              set('rolling', (e.target as HTMLSelectElement).value === '0' ? '' : (e.target as HTMLSelectElement).value)
            }
          >
            <option value="0">Off</option>
            <option value="3">3 buckets</option>
            <option value="7">7 buckets</option>
            <option value="24">24 buckets</option>
          </select>
        </label>
        <div class="spacer" />
        <button type="button" class="btn" onClick={exportCsv} disabled={!cur.data}>
          Export CSV
        </button>
        <button type="button" class="btn" onClick={exportJson} disabled={!cur.data}>
          Export JSON
        </button>
      </div>
      <Card title={`${METRICS[metric].label} by ${dim}, per ${interval.param}`}>
        <Status loading={series.loading && !series.data} error={series.error} />
        {series.data && series.data.rows.length === 0 ? (
          <p class="muted">No calls in this range. Widen the range or clear filters.</p>
        ) : (
          series.data && (
            <TimeChart
              xs={chart.xs}
              series={chart.series}
              overlay={chart.overlay}
              markers={chartMarkers}
              stacked
              format={fmt}
              label={`Stacked ${METRICS[metric].label.toLowerCase()} by ${dim} over time`}
            />
          )
        )}
        <AnomalyList markers={markers} />
      </Card>
      <Card title="Breakdown and comparison with the previous period">
        <p class="summary-line" data-total>
          Total <strong>{fmt(breakdown.curTotal)}</strong> against {fmt(breakdown.prevTotal)} in the previous period (
          <span>{formatChange(breakdown.curTotal, breakdown.prevTotal)}</span>).
        </p>
        <Status loading={cur.loading && !cur.data} error={cur.error ?? prev.error} />
        <TableWrap>
          <table data-breakdown>
            <caption class="sr-only">
              {METRICS[metric].label} per {dim}, with the previous period and each group's share of the change
            </caption>
            <thead>
              <tr>
                <th scope="col">{dim}</th>
                <th scope="col" class="num">
                  {METRICS[metric].label}
                </th>
                <th scope="col" class="num">
                  Share
                </th>
                <th scope="col" class="num">
                  Previous
                </th>
                <th scope="col" class="num">
                  Change
                </th>
                <th scope="col" class="num">
                  Share of change
                </th>
                <th scope="col" class="num">
                  Requests
                </th>
              </tr>
            </thead>
            <tbody>
              {breakdown.rows.map((r) => (
                <tr key={r.key}>
                  <th scope="row">{r.key}</th>
                  <td class="num">
                    {fmt(r.current)}
                    {metric === 'costUsd' && r.unpriced > 0 && (
                      <span class="badge" title={`${r.unpriced} calls without a known price`}>
                        {formatCount(r.unpriced)} unpriced
                      </span>
                    )}
                  </td>
                  <td class="num">{formatPercent(r.share)}</td>
                  <td class="num">{fmt(r.previous)}</td>
                  <td class="num">
                    {(r.change ?? 0) > 0 ? '+' : ''}
                    {fmt(r.change)}
                  </td>
                  <td class="num">{formatPercent(r.attribution)}</td>
                  <td class="num">{formatCount(r.requests)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Card>
    </>
  );
}
