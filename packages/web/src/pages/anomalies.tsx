import { useMemo } from 'preact/hooks';
import {
  type Anomaly,
  anomalyListParams,
  anomalyTitle,
  deviationText,
  firedText,
  formatMetric,
  keepAnomaly,
  METRIC_LABELS,
} from '../anomalies.js';
import { AnomalyChart } from '../charts.js';
import { FilterBar, Pager, RangePicker, Status } from '../components.js';
import { formatTime } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';
import { ParamInput } from './logs.js';

const PAGE_SIZE = 10;
/** Buckets shown before and after an anomaly's. */
const BEFORE = 60;
const AFTER = 15;

interface AnomalyContext {
  anomaly: Anomaly;
  series: { intervalMs: number; points: { bucketStartMs: number; value: number | null }[] } | null;
}

/**
 * Anomalies the detectors found (GET /api/v1/anomalies), newest first, filtered by metric,
 * series, project, model and time range (all in the URL); each with its series around it, the
 * expected band and the point, its score and why.
 */
export function Anomalies(props: PageProps) {
  const { params, range, filters, window } = usePageState(props.refresh);
  const metric = params.get('metric') ?? '';
  const series = params.get('series') ?? '';
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1);
  const res = useApi<{ anomalies: Anomaly[] }>(
    '/api/v1/anomalies',
    anomalyListParams(window, filters, metric, series),
    props.refresh,
  );
  usePageReady(!res.loading);
  const all = useMemo(() => (res.data?.anomalies ?? []).filter((a) => keepAnomaly(a, filters)), [res.data, filters]);
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  const shown = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const goTo = (n: number) =>
    setParams((p) => {
      if (n <= 1) p.delete('page');
      else p.set('page', String(n));
    });

  return (
    <>
      <div class="page-head">
        <h1>Anomalies</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <FilterBar filters={filters} window={window} dims={['project', 'model']} hideProject={!props.isAdmin} />
      <div class="toolbar">
        <label>
          <span class="label">Metric</span>
          <select
            value={metric}
            onChange={(e) =>
              setParams((p) => {
                const v = (e.target as HTMLSelectElement).value;
                p.delete('page');
                if (v) p.set('metric', v);
                else p.delete('metric');
              }, true)
            }
          >
            <option value="">All metrics</option>
            {Object.entries(METRIC_LABELS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <ParamInput name="series" label="Series" value={series} placeholder="metric|project|model or a name" />
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && all.length === 0 && (
        <p class="muted" data-empty>
          No anomalies in this range. The detectors watch cost, tokens, requests, error rate, latency and time to first
          token per project and model, and the series named by API.
        </p>
      )}
      {all.length > 0 && (
        <>
          <p class="summary-line" data-anomaly-count={all.length}>
            <strong>{all.length}</strong> anomal{all.length === 1 ? 'y' : 'ies'} in this range, newest first.
          </p>
          <ol class="anomaly-cards">
            {shown.map((a) => (
              <li key={a.id}>
                <AnomalyCard anomaly={a} refresh={props.refresh} />
              </li>
            ))}
          </ol>
          {pages > 1 && (
            <Pager
              page={page}
              onNewer={page > 1 ? () => goTo(page - 1) : null}
              onOlder={page < pages ? () => goTo(page + 1) : null}
            />
          )}
        </>
      )}
    </>
  );
}

function AnomalyCard(props: { anomaly: Anomaly; refresh: number }) {
  const a = props.anomaly;
  const fmt = (v: number | null | undefined) => formatMetric(a.metric, v ?? null);
  const e = a.explanation;
  const title = anomalyTitle(a);
  return (
    <article class="card anomaly-card" data-anomaly-id={a.id} aria-labelledby={`t-${cssId(a.id)}`}>
      <div class="card-head">
        <h2 id={`t-${cssId(a.id)}`}>{title}</h2>
        <span class="pill error" data-score>
          score {a.score.toFixed(3)}
        </span>
      </div>
      <dl class="kv anomaly-facts">
        <dt>Bucket</dt>
        <dd data-field="bucket">
          <time dateTime={new Date(a.bucketStartMs).toISOString()}>{formatTime(a.bucketStartMs, false)}</time>
        </dd>
        <dt>Value</dt>
        <dd data-field="value">{fmt(a.value)}</dd>
        <dt>Expected</dt>
        <dd data-field="expected">{fmt(a.expected)}</dd>
        <dt>Band</dt>
        <dd data-field="band">
          {a.lower === null || a.lower === undefined ? '—' : `${fmt(a.lower)} to ${fmt(a.upper)}`}
        </dd>
        <dt>Deviation</dt>
        <dd data-field="deviation">{deviationText(a)}</dd>
        <dt>Detectors fired</dt>
        <dd data-field="fired">{firedText(e)}</dd>
        <dt>Since</dt>
        <dd data-field="since">
          {e?.sinceMs ? <time dateTime={new Date(e.sinceMs).toISOString()}>{formatTime(e.sinceMs, false)}</time> : '—'}
        </dd>
        {e?.changeStartMs ? (
          <>
            <dt>Level change from</dt>
            <dd data-field="change">{formatTime(e.changeStartMs, false)}</dd>
          </>
        ) : null}
        {a.detectedAtMs ? (
          <>
            <dt>Detected</dt>
            <dd data-field="detected">{formatTime(a.detectedAtMs)}</dd>
          </>
        ) : null}
      </dl>
      <AnomalySeriesChart anomaly={a} title={title} refresh={props.refresh} />
    </article>
  );
}

function AnomalySeriesChart(props: { anomaly: Anomaly; title: string; refresh: number }) {
  const a = props.anomaly;
  const res = useApi<AnomalyContext>(
    '/api/v1/anomalies/context',
    new URLSearchParams({ id: a.id, before: String(BEFORE), after: String(AFTER) }),
    props.refresh,
  );
  const data = useMemo(() => {
    const points = res.data?.series?.points ?? [];
    return { xs: points.map((p) => p.bucketStartMs / 1000), values: points.map((p) => p.value) };
  }, [res.data]);
  if (res.loading && !res.data) return <Status loading error={null} />;
  if (res.error) return <Status loading={false} error={res.error} />;
  if (!res.data?.series) return <p class="muted">The series is no longer watched; its chart is not available.</p>;
  const fmt = (v: number | null) => formatMetric(a.metric, v);
  return (
    <div data-anomaly-chart data-points={data.xs.length}>
      <AnomalyChart
        xs={data.xs}
        values={data.values}
        atMs={a.bucketStartMs}
        expected={a.expected}
        lower={a.lower ?? null}
        upper={a.upper ?? null}
        format={fmt}
        label={`${props.title}: ${fmt(a.value)} at ${formatTime(a.bucketStartMs, false)} against ${fmt(a.expected)} expected (band ${fmt(a.lower ?? null)} to ${fmt(a.upper ?? null)}), with the ${BEFORE} buckets before and up to ${AFTER} after`}
      />
    </div>
  );
}

/** An anomaly id as an element id (ids hold `|`, `/` and such). */
function cssId(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
