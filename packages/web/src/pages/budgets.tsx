import {
  type Budget,
  type BudgetEvent,
  barLabel,
  barPosition,
  barScaleUsd,
  burnText,
  periodText,
  scopeText,
  thresholdRule,
  zonedTime,
} from '../budgets.js';
import { Status, TableWrap } from '../components.js';
import { formatPercent, formatUsd } from '../format.js';
import { useApi, usePageReady } from '../hooks.js';
import type { PageProps } from '../page-registry.js';

/**
 * Budgets: each with a bar of spend against the amount (the projection for the period end
 * beyond it, threshold marks on it), the forecast, burn rates, thresholds and recent crossings.
 * Everything comes from `GET /api/v1/budgets` (status as of the last evaluation) and each
 * budget's events.
 */
export function Budgets(props: PageProps) {
  const res = useApi<{ budgets: Budget[] }>('/api/v1/budgets', null, props.refresh);
  usePageReady(!res.loading);
  const budgets = res.data?.budgets ?? [];
  return (
    <>
      <div class="page-head">
        <h1>Budgets</h1>
        <button type="button" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && budgets.length === 0 && (
        <p class="muted" data-empty>
          No budgets yet. Create one with <code>reskpoints budgets set</code> or{' '}
          <code>PUT /api/v1/budgets/&lt;id&gt;</code>.
        </p>
      )}
      {budgets.length > 0 && (
        <ol class="budget-cards" data-budget-count={budgets.length}>
          {budgets.map((b) => (
            <li key={b.id}>
              <BudgetCard budget={b} refresh={props.refresh} />
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

function BudgetCard(props: { budget: Budget; refresh: number }) {
  const b = props.budget;
  const s = b.status;
  const headId = `budget-${b.id.replace(/[^a-z0-9-]/g, '-')}`;
  const over = s !== null && s.spendUsd >= s.amountUsd;
  return (
    <article class="card budget-card" data-budget-id={b.id} aria-labelledby={headId}>
      <div class="card-head">
        <h2 id={headId}>{b.name}</h2>
        {s?.state === 'active' ? (
          <span class={`pill ${over ? 'error' : 'ok'}`} data-field="percent">
            {formatPercent(s.percentUsed / 100)}
          </span>
        ) : (
          <span class="pill">{s ? s.state : 'not evaluated yet'}</span>
        )}
      </div>
      <p class="muted budget-meta">
        {formatUsd(b.amountUsd)} {periodText(b)} · {scopeText(b.scope)}
      </p>
      {s?.state === 'active' && s.periodStartMs !== null && s.periodEndMs !== null && (
        <>
          <BudgetBar budget={b} />
          <dl class="kv budget-facts">
            <dt>Period</dt>
            <dd data-field="period">
              {zonedTime(s.periodStartMs, b.timeZone)} to {zonedTime(s.periodEndMs, b.timeZone)}
            </dd>
            <dt>Spent</dt>
            <dd data-field="spent">
              {formatUsd(s.spendUsd)} of {formatUsd(s.amountUsd)}
              {s.unpricedCalls > 0 && ` (${s.unpricedCalls} unpriced calls not counted)`}
            </dd>
            <dt>Forecast</dt>
            <dd data-field="forecast">
              {s.forecast
                ? `${formatUsd(s.forecast.projectedUsd)} at period end (${formatUsd(s.forecast.loUsd)} to ${formatUsd(s.forecast.hiUsd)})`
                : '—'}
            </dd>
            <dt>Reaches the amount</dt>
            <dd data-field="crosses">
              {s.spendUsd >= s.amountUsd
                ? 'already reached'
                : s.forecast?.crossesAtMs != null
                  ? zonedTime(s.forecast.crossesAtMs, b.timeZone)
                  : 'not projected in this period'}
            </dd>
            <dt>Burn rate</dt>
            <dd data-field="burn">
              {burnText(s)} <span class="muted">(even rate {formatUsd(s.evenRateUsdPerHour)}/h)</span>
            </dd>
            <dt>Evaluated</dt>
            <dd data-field="evaluated">{zonedTime(s.evaluatedAtMs, b.timeZone)}</dd>
          </dl>
        </>
      )}
      <TableWrap>
        <table class="budget-thresholds" data-thresholds>
          <caption class="sr-only">Thresholds of {b.name}</caption>
          <thead>
            <tr>
              <th scope="col">Threshold</th>
              <th scope="col">When</th>
              <th scope="col" class="num">
                Target
              </th>
              <th scope="col">This period</th>
            </tr>
          </thead>
          <tbody>
            {b.thresholds.map((t) => {
              const ts = s?.thresholds.find((x) => x.id === t.id);
              return (
                <tr key={t.id} data-threshold-id={t.id}>
                  <th scope="row">{t.id}</th>
                  <td>{thresholdRule(t)}</td>
                  <td class="num">{ts?.targetUsd != null ? formatUsd(ts.targetUsd) : '—'}</td>
                  <td data-field="crossed">
                    {ts?.crossedAtMs != null ? `crossed ${zonedTime(ts.crossedAtMs, b.timeZone)}` : 'not crossed'}
                    {ts?.active && ts.crossedAtMs != null && <span class="pill error">holds</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <RecentEvents budget={b} refresh={props.refresh} />
    </article>
  );
}

function BudgetBar(props: { budget: Budget }) {
  const s = props.budget.status;
  if (!s) return null;
  const scale = barScaleUsd(s);
  const spent = barPosition(s.spendUsd, scale);
  const projected = barPosition(s.forecast?.projectedUsd ?? s.spendUsd, scale);
  const marks = s.thresholds.filter((t) => t.targetUsd !== null && t.kind !== 'forecast');
  return (
    <div class="budget-bar" role="img" aria-label={barLabel(s)} data-bar-scale={scale}>
      <div class="budget-projected" style={{ width: `${projected}%` }} data-projected-width={projected.toFixed(2)} />
      <div
        class={`budget-spent${s.spendUsd >= s.amountUsd ? ' over' : ''}`}
        style={{ width: `${spent}%` }}
        data-spent-width={spent.toFixed(2)}
      />
      <div class="budget-amount" style={{ left: `${barPosition(s.amountUsd, scale)}%` }} />
      {marks.map((t) => (
        <div
          key={t.id}
          class={`budget-mark${t.crossedAtMs !== null ? ' crossed' : ''}`}
          style={{ left: `${barPosition(t.targetUsd as number, scale)}%` }}
          data-mark={t.id}
          title={`${t.id}: ${formatUsd(t.targetUsd)}`}
        />
      ))}
    </div>
  );
}

function RecentEvents(props: { budget: Budget; refresh: number }) {
  const b = props.budget;
  const res = useApi<{ events: BudgetEvent[] }>(
    `/api/v1/budgets/${encodeURIComponent(b.id)}/events`,
    new URLSearchParams({ limit: '5' }),
    props.refresh,
  );
  const events = res.data?.events ?? [];
  return (
    <section class="budget-events" aria-label={`Recent crossings of ${b.name}`}>
      <h3>Recent crossings</h3>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && events.length === 0 && <p class="muted">None yet.</p>}
      {events.length > 0 && (
        <ul data-events>
          {events.map((e) => (
            <li key={e.id} data-event-id={e.id}>
              <time dateTime={new Date(e.atMs).toISOString()}>{zonedTime(e.atMs, b.timeZone)}</time>{' '}
              <strong>{e.thresholdId}</strong>: {e.message}
              {e.action && ` (${e.action.kind} until ${zonedTime(e.action.untilMs, b.timeZone)})`}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
