/**
 * Spend-control pages: Forecasts (GET /api/v1/forecasts and /capacity), Quotas (GET
 * /api/v1/quotas/usage) and Recommendations (GET /api/v1/recommendations and /chargeback).
 * Every number shown is the API's, formatted.
 */
import { getToken } from '../api.js';
import { ForecastChart } from '../charts.js';
import { Card, download, FilterBar, Status, TableWrap } from '../components.js';
import { formatCount, formatPercent, formatTime, formatUsd } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';
import { apiParams, type Filters } from '../url-state.js';

const DAY_MS = 86_400_000;

/** The filters of the URL as API parameters, without a time range (these pages choose their own). */
function filterParams(filters: Filters, extra: Record<string, string | undefined> = {}): URLSearchParams {
  const p = apiParams({ fromMs: 0, toMs: 0 }, filters, extra);
  p.delete('from');
  p.delete('to');
  return p;
}

// ---- Forecasts ------------------------------------------------------------------------------

interface ForecastPoint {
  t: number;
  v: number;
  lo: number;
  hi: number;
}
interface Crossing {
  crossesAt: number | null;
  lo: number | null;
  hi: number | null;
}
export interface ForecastResponse {
  metric: 'cost' | 'tokens' | 'requests';
  period: 'day' | 'week' | 'month';
  level: number;
  scopes: {
    group: Record<string, string | null>;
    model: string;
    backtestMape: number | null;
    history: { t: number; v: number }[];
    points: ForecastPoint[];
    period: { fromMs: number; toMs: number; actual: number; projected: number; lo: number; hi: number };
    threshold: (Crossing & { value: number }) | null;
  }[];
  costIsLowerBound: boolean;
}
interface Projection {
  limitPerMinute: number | null;
  observedPeakPerMinute: number;
  projectedPeakPerMinute: number;
  projectedPeakPerMinuteHi: number;
  headroom: number | null;
  reachesLimit: Crossing | null;
}
export interface CapacityResponse {
  horizonHours: number;
  models: { model: string; forecastModel: string; requests: Projection; tokens: Projection }[];
}

const METRIC_NAMES = { cost: 'Spend', tokens: 'Tokens', requests: 'Requests' } as const;
export const forecastAmount = (metric: ForecastResponse['metric'], v: number | null) =>
  metric === 'cost' ? formatUsd(v) : formatCount(v);
const day = (ms: number | null) => (ms === null ? 'not within the period' : new Date(ms).toISOString().slice(0, 10));
const rate = (n: number) => (n >= 100 ? formatCount(Math.round(n)) : n.toFixed(2));

export function Forecasts(props: PageProps) {
  const { params, filters } = usePageState(props.refresh);
  const metric = (['cost', 'tokens', 'requests'] as const).find((m) => m === params.get('metric')) ?? 'cost';
  const period = (['day', 'week', 'month'] as const).find((m) => m === params.get('period')) ?? 'month';
  const threshold = params.get('threshold') ?? '';
  const f = useApi<ForecastResponse>(
    '/api/v1/forecasts',
    filterParams(filters, { metric, period, horizon: '30d', threshold: threshold || undefined, limit: '5' }),
    props.refresh,
  );
  const cap = useApi<CapacityResponse>('/api/v1/forecasts/capacity', filterParams(filters), props.refresh);
  usePageReady(!f.loading && !cap.loading);
  const set = (k: string, v: string) =>
    setParams((p) => {
      if (v) p.set(k, v);
      else p.delete(k);
    }, true);
  const amount = (v: number | null) => forecastAmount(metric, v);
  return (
    <>
      <div class="page-head">
        <h1>Forecasts</h1>
      </div>
      <FilterBar
        filters={filters}
        window={{ fromMs: Date.now() - 30 * DAY_MS, toMs: Date.now() }}
        dims={['project', 'model']}
        hideProject={!props.isAdmin}
      />
      <div class="toolbar">
        <label>
          <span class="label">Metric</span>
          <select value={metric} onChange={(e) => set('metric', (e.target as HTMLSelectElement).value)}>
            <option value="cost">Spend (USD)</option>
            <option value="tokens">Tokens</option>
            <option value="requests">Requests</option>
          </select>
        </label>
        <label>
          <span class="label">Period</span>
          <select value={period} onChange={(e) => set('period', (e.target as HTMLSelectElement).value)}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </label>
        <label>
          <span class="label">Threshold</span>
          <input
            type="number"
            min="0"
            step="any"
            value={threshold}
            placeholder={metric === 'cost' ? 'USD per period' : 'per period'}
            onChange={(e) => set('threshold', (e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <Status loading={f.loading && !f.data} error={f.error} />
      {f.data && f.data.scopes.length === 0 && (
        <p class="muted" data-empty>
          No calls in the history yet: nothing to forecast.
        </p>
      )}
      {f.data?.scopes.map((s) => {
        const name = Object.entries(s.group)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        return (
          <Card key={name} title={`${METRIC_NAMES[metric]} this ${period}${name ? `: ${name}` : ''}`}>
            <div class="kpis" data-forecast>
              <div class="kpi">
                <div class="kpi-label">So far</div>
                <div class="kpi-value" data-actual>
                  {amount(s.period.actual)}
                </div>
              </div>
              <div class="kpi">
                <div class="kpi-label">Projected {period} total</div>
                <div class="kpi-value" data-projected>
                  {amount(s.period.projected)}
                </div>
                <div class="kpi-change" data-interval>
                  {Math.round(f.data!.level * 100)}% interval {amount(s.period.lo)} – {amount(s.period.hi)}
                </div>
              </div>
              {s.threshold && (
                <div class="kpi">
                  <div class="kpi-label">Reaches {amount(s.threshold.value)}</div>
                  <div class="kpi-value" data-crossing>
                    {day(s.threshold.crossesAt)}
                  </div>
                  {s.threshold.lo !== null && <div class="kpi-change">earliest {day(s.threshold.lo)}</div>}
                </div>
              )}
            </div>
            <ForecastChart
              history={s.history}
              points={s.points}
              format={amount}
              threshold={null}
              label={`${METRIC_NAMES[metric]} per day: history and 30-day forecast with its interval`}
            />
            <p class="muted">
              Method {s.model}, backtest error (MAPE) {formatPercent(s.backtestMape)}.
            </p>
          </Card>
        );
      })}
      <Card title="Capacity headroom per model">
        <Status loading={cap.loading && !cap.data} error={cap.error} />
        {cap.data && cap.data.models.length === 0 && <p class="muted">No calls and no rate limits configured.</p>}
        {cap.data && cap.data.models.length > 0 && (
          <TableWrap>
            <table data-capacity>
              <caption class="sr-only">
                Requests and tokens per minute per model over the next {cap.data.horizonHours} hours against the
                configured rate limits
              </caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">
                    Peak last 24 h /min
                  </th>
                  <th scope="col" class="num">
                    Projected peak /min
                  </th>
                  <th scope="col" class="num">
                    Limit /min
                  </th>
                  <th scope="col" class="num">
                    Headroom
                  </th>
                </tr>
              </thead>
              <tbody>
                {cap.data.models.flatMap((m) =>
                  (['requests', 'tokens'] as const).map((k) => (
                    <tr key={`${m.model}-${k}`} data-model={m.model} data-metric={k}>
                      <th scope="row">{m.model || '—'}</th>
                      <td>{k}</td>
                      <td class="num">{rate(m[k].observedPeakPerMinute)}</td>
                      <td class="num">{rate(m[k].projectedPeakPerMinute)}</td>
                      <td class="num">{m[k].limitPerMinute === null ? '—' : formatCount(m[k].limitPerMinute)}</td>
                      <td class="num" data-headroom>
                        {formatPercent(m[k].headroom)}
                      </td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Card>
    </>
  );
}

// ---- Quotas ---------------------------------------------------------------------------------

export interface QuotaUsageResponse {
  atMs: number;
  quotas: {
    quota: {
      id: string;
      metric: 'requests' | 'tokens' | 'costUsd';
      limit: number;
      windowMs: number;
      window: string;
      description: string;
    };
    maxUtilization: number;
    counters: {
      counter: string;
      dimensions: Record<string, string>;
      used: number;
      reserved: number;
      settled: number;
      remaining: number;
      utilization: number;
      resetSeconds: number;
    }[];
  }[];
}

export const quotaAmount = (metric: string, v: number) => (metric === 'costUsd' ? formatUsd(v) : formatCount(v));
const windowText = (ms: number) =>
  ms % DAY_MS === 0
    ? `${ms / DAY_MS} d`
    : ms % 3_600_000 === 0
      ? `${ms / 3_600_000} h`
      : ms % 60_000 === 0
        ? `${ms / 60_000} min`
        : `${ms / 1000} s`;

export function Quotas(props: PageProps) {
  const u = useApi<QuotaUsageResponse>('/api/v1/quotas/usage', null, props.refresh);
  usePageReady(!u.loading);
  return (
    <>
      <div class="page-head">
        <h1>Quotas</h1>
        <button type="button" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      <Status loading={u.loading && !u.data} error={u.error} />
      {u.data && u.data.quotas.length === 0 && (
        <p class="muted" data-empty>
          No quotas. Create one with <code>reskpoints quotas set</code> or{' '}
          <code>PUT /api/v1/quotas/&#123;id&#125;</code>.
        </p>
      )}
      {u.data && u.data.quotas.length > 0 && (
        <TableWrap>
          <table data-quotas>
            <caption class="sr-only">Usage against limits per quota counter, fullest first</caption>
            <thead>
              <tr>
                <th scope="col">Quota</th>
                <th scope="col">Counter</th>
                <th scope="col">Window</th>
                <th scope="col" class="num">
                  Used
                </th>
                <th scope="col" class="num">
                  Limit
                </th>
                <th scope="col">Use</th>
                <th scope="col" class="num">
                  Resets in
                </th>
              </tr>
            </thead>
            <tbody>
              {u.data.quotas.flatMap(({ quota: q, counters }) =>
                (counters.length > 0 ? counters : [null]).map((c) => {
                  const used = c?.used ?? 0;
                  const utilization = c?.utilization ?? 0;
                  const dims = c
                    ? Object.entries(c.dimensions)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')
                    : '';
                  return (
                    <tr key={`${q.id}-${c?.counter ?? ''}`} data-quota={q.id} data-counter={c?.counter ?? ''}>
                      <th scope="row">{q.id}</th>
                      <td>{dims || '—'}</td>
                      <td>
                        {windowText(q.windowMs)} {q.window}
                      </td>
                      <td class="num" data-used>
                        {quotaAmount(q.metric, used)}
                      </td>
                      <td class="num">{quotaAmount(q.metric, q.limit)}</td>
                      <td>
                        <meter
                          min={0}
                          max={1}
                          low={0.8}
                          high={0.95}
                          optimum={0}
                          value={Math.min(1, utilization)}
                          aria-label={`${q.id} use`}
                        />{' '}
                        <span data-utilization>{formatPercent(utilization)}</span>
                      </td>
                      <td class="num">{c ? `${formatCount(c.resetSeconds)} s` : '—'}</td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}

// ---- Recommendations ------------------------------------------------------------------------

export interface RecommendationsResponse {
  fromMs: number;
  toMs: number;
  callsAnalyzed: number;
  recommendations: {
    kind: string;
    projectId: string;
    model: string | null;
    title: string;
    detail: string;
    savingsUsdPerMonth: number;
    calls: number;
  }[];
  notes: string[];
  efficiency: {
    projectId: string;
    score: number;
    spendUsdPerMonth: number;
    wasteUsdPerMonth: number;
    drivers: { kind: string; usdPerMonth: number; shareOfSpend: number }[];
  }[];
  costPerOutcome: { outcome: string; costUsd: number; outcomes: number; costPerOutcomeUsd: number }[];
}
export interface ChargebackResponse {
  totalUsd: number;
  sharedUsd: number;
  method: string;
  tagPrefix: string;
  rows: { team: string; directUsd: number; sharedUsd: number; totalUsd: number; share: number; calls: number }[];
}

export function Recommendations(props: PageProps) {
  const { filters } = usePageState(props.refresh);
  const params = filterParams(filters);
  const r = useApi<RecommendationsResponse>('/api/v1/recommendations', params, props.refresh);
  const c = useApi<ChargebackResponse>('/api/v1/chargeback', params, props.refresh);
  usePageReady(!r.loading && !c.loading);
  // The server's CSV, as `reskpoints chargeback --format csv` prints it.
  const exportCsv = async () => {
    const token = getToken();
    const res = await fetch(`/api/v1/chargeback?${filterParams(filters, { format: 'csv' })}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    if (res.ok) download('chargeback.csv', 'text/csv', await res.text());
  };
  return (
    <>
      <div class="page-head">
        <h1>Recommendations</h1>
      </div>
      <FilterBar
        filters={filters}
        window={{ fromMs: Date.now() - 30 * DAY_MS, toMs: Date.now() }}
        dims={['project', 'model']}
        hideProject={!props.isAdmin}
      />
      <Status loading={r.loading && !r.data} error={r.error} />
      {r.data && (
        <p class="summary-line">
          From {formatCount(r.data.callsAnalyzed)} calls, {formatTime(r.data.fromMs, false)} to{' '}
          {formatTime(r.data.toMs, false)}; savings per 30-day month.
        </p>
      )}
      {r.data && r.data.recommendations.length === 0 && (
        <p class="muted" data-empty>
          No savings found in this range.
        </p>
      )}
      {r.data && r.data.recommendations.length > 0 && (
        <ol class="recommendations" data-recommendations>
          {r.data.recommendations.map((x) => (
            <li key={`${x.kind}-${x.projectId}-${x.model}`} data-kind={x.kind} data-project={x.projectId}>
              <strong data-savings>{formatUsd(x.savingsUsdPerMonth)}/month</strong> {x.title}
              <p class="muted">{x.detail}</p>
            </li>
          ))}
        </ol>
      )}
      {r.data?.notes.map((n) => (
        <p key={n} class="muted">
          Note: {n}
        </p>
      ))}
      {r.data && r.data.efficiency.length > 0 && (
        <Card title="Token efficiency per project">
          <TableWrap>
            <table data-efficiency>
              <caption class="sr-only">
                Share of spend not lost to the findings, per project, with the main driver
              </caption>
              <thead>
                <tr>
                  <th scope="col">Project</th>
                  <th scope="col" class="num">
                    Score
                  </th>
                  <th scope="col" class="num">
                    Spend / month
                  </th>
                  <th scope="col" class="num">
                    Lost / month
                  </th>
                  <th scope="col">Main driver</th>
                </tr>
              </thead>
              <tbody>
                {r.data.efficiency.map((e) => (
                  <tr key={e.projectId} data-project={e.projectId}>
                    <th scope="row">{e.projectId}</th>
                    <td class="num" data-score>
                      {e.score}/100
                    </td>
                    <td class="num">{formatUsd(e.spendUsdPerMonth)}</td>
                    <td class="num">{formatUsd(e.wasteUsdPerMonth)}</td>
                    <td>
                      {e.drivers[0]
                        ? `${e.drivers[0].kind} (${formatPercent(e.drivers[0].shareOfSpend)} of spend)`
                        : '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </Card>
      )}
      <Card
        title="Chargeback by team"
        actions={
          <button type="button" onClick={() => void exportCsv()}>
            Export CSV
          </button>
        }
      >
        <Status loading={c.loading && !c.data} error={c.error} />
        {c.data && c.data.rows.length === 0 && (
          <p class="muted">No call carries a {c.data.tagPrefix} tag: nothing to allocate.</p>
        )}
        {c.data && c.data.rows.length > 0 && (
          <TableWrap>
            <table data-chargeback>
              <caption class="sr-only">
                Spend per team; untagged shared spend ({formatUsd(c.data.sharedUsd)}) allocated in proportion to direct
                spend
              </caption>
              <thead>
                <tr>
                  <th scope="col">Team</th>
                  <th scope="col" class="num">
                    Direct
                  </th>
                  <th scope="col" class="num">
                    Shared
                  </th>
                  <th scope="col" class="num">
                    Total
                  </th>
                  <th scope="col" class="num">
                    Share
                  </th>
                </tr>
              </thead>
              <tbody>
                {c.data.rows.map((x) => (
                  <tr key={x.team} data-team={x.team}>
                    <th scope="row">{x.team}</th>
                    <td class="num">{formatUsd(x.directUsd)}</td>
                    <td class="num">{formatUsd(x.sharedUsd)}</td>
                    <td class="num" data-total>
                      {formatUsd(x.totalUsd)}
                    </td>
                    <td class="num">{formatPercent(x.share)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Card>
    </>
  );
}
