/**
 * Alerting pages (admin token): firing and pending alerts, silences (create, expire), rules
 * with their state, and the notification log. Each reloads when the `alerts` topic of the
 * events WebSocket says something changed; the REST API is the record.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, getToken } from '../api.js';
import { Card, Status, TableWrap } from '../components.js';
import { formatAgo, formatTime } from '../format.js';
import { useApi, usePageReady } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams, useLocation } from '../router.js';
import { ParamInput } from './logs.js';

type Labels = Record<string, string>;

export interface HeldAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  endsAtMs: number;
  silencedBy: string[];
}

export interface RuleSeries {
  labels: Labels;
  annotations?: Labels;
  status: 'pending' | 'firing';
  value: number;
  activeAtMs: number;
  firedAtMs: number | null;
}

export interface RuleView {
  name: string;
  kind: string;
  origin: 'config' | 'file' | 'api';
  state: 'inactive' | 'pending' | 'firing';
  metric?: string;
  window?: number;
  interval: number;
  for: number;
  keepFiringFor: number;
  threshold?: { op: string; value: number };
  change?: { op: string; percent: number; baseline: number };
  absent?: { lookback: number };
  signal?: { source: string; matchers: string[]; minValue?: number };
  groupBy: string[];
  labels: Labels;
  updatedAtMs: number | null;
  series: RuleSeries[];
}

interface SilenceView {
  id: string;
  matchers: string[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  recurring: boolean;
  state: 'pending' | 'active' | 'expired';
}

interface OutboxItem {
  id: string;
  receiver: string;
  channel?: string;
  groupKey: string;
  status: string;
  createdAtMs: number;
  attempts: number;
  nextAttemptAtMs: number;
  lastError: string | null;
}

interface SentItem {
  id: string;
  receiver: string;
  channel?: string;
  groupKey: string;
  status: string;
  alertCount: number;
  createdAtMs: number;
  finishedAtMs: number;
  outcome: 'delivered' | 'failed';
  attempts: number;
  detail: string | null;
}

/**
 * A counter bumped (at most every 500 ms) when the `alerts` topic of the events WebSocket
 * reports a change: pages add it to their reload key so they follow without polling.
 */
function useAlertEvents(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const qs = new URLSearchParams({ token: getToken() ?? '', topics: 'alerts' });
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let pending: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const connect = () => {
      ws = new WebSocket(`${proto}//${location.host}/api/v1/events?${qs}`);
      ws.onmessage = (ev) => {
        const msg = JSON.parse(String(ev.data)) as { topic: string };
        if (msg.topic !== 'alerts' || pending) return;
        pending = setTimeout(() => {
          pending = null;
          setTick((t) => t + 1);
        }, 500);
      };
      ws.onclose = () => {
        if (!stopped) retry = setTimeout(connect, 3000);
      };
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      if (pending) clearTimeout(pending);
      ws?.close();
    };
  }, []);
  return tick;
}

/** Labels as `name="value"` chips, `alertname` left out when `skipName`. */
function LabelList(props: { labels: Labels; skip?: string[] }) {
  const entries = Object.entries(props.labels)
    .filter(([k]) => !(props.skip ?? []).includes(k))
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="labels" aria-label="Labels">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}="{v}"
          </code>
        </li>
      ))}
    </ul>
  );
}

/** Matchers selecting exactly these labels, for a silence. */
export function matchersFor(labels: Labels): string[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
}

/** Whether `labels` contain every `name=value` (or bare word in any value) of the filter text. */
export function labelsMatch(labels: Labels, filter: string): boolean {
  const terms = filter.split(/[\s,]+/).filter(Boolean);
  return terms.every((t) => {
    const eq = t.indexOf('=');
    if (eq > 0) return labels[t.slice(0, eq)] === t.slice(eq + 1).replace(/^"|"$/g, '');
    const needle = t.toLowerCase();
    return Object.values(labels).some((v) => v.toLowerCase().includes(needle));
  });
}

function stateSelect(name: string, label: string, value: string, options: [string, string][]) {
  return (
    <label>
      <span class="label">{label}</span>
      <select
        value={value}
        onChange={(e) =>
          setParams((p) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v === options[0]?.[0]) p.delete(name);
            else p.set(name, v);
          }, true)
        }
      >
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function StatePill(props: { state: string }) {
  const cls = props.state === 'firing' || props.state === 'failed' ? 'error' : props.state === 'delivered' ? 'ok' : '';
  return <span class={`pill ${cls}`}>{props.state}</span>;
}

const fmtValue = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toPrecision(4);

/** Firing alerts (from the pipeline) and pending series (from the rules), filtered in the URL. */
export function Alerts(props: PageProps) {
  const { params } = useLocation();
  const filter = params.get('filter') ?? '';
  const show = params.get('show') ?? 'all';
  const events = useAlertEvents();
  const alerts = useApi<{ alerts: HeldAlert[] }>('/api/v1/alerts', null, props.refresh + events);
  const rules = useApi<{ rules: RuleView[] }>('/api/v1/alerts/rules', null, props.refresh + events);
  usePageReady(!alerts.loading && !rules.loading);
  const now = Date.now();
  const firing = (alerts.data?.alerts ?? [])
    .filter((a) => labelsMatch(a.labels, filter))
    .filter((a) => show !== 'pending')
    .filter((a) => show !== 'unsilenced' || a.silencedBy.length === 0)
    .sort((a, b) => b.startsAtMs - a.startsAtMs);
  const pending = (rules.data?.rules ?? [])
    .flatMap((r) => r.series.filter((s) => s.status === 'pending').map((s) => ({ rule: r, series: s })))
    .filter((p) => labelsMatch(p.series.labels, filter))
    .filter(() => show === 'all' || show === 'pending')
    .sort((a, b) => b.series.activeAtMs - a.series.activeAtMs);
  const firingCount = (alerts.data?.alerts ?? []).filter((a) => a.status === 'firing').length;

  return (
    <>
      <div class="page-head">
        <h1>Alerts</h1>
        <button type="button" class="btn" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      <dl class="kpis small" data-alert-counts>
        <div class="kpi">
          <dt class="kpi-label">Firing</dt>
          <dd class="kpi-value" data-count="firing">
            {alerts.data ? firingCount : '…'}
          </dd>
        </div>
        <div class="kpi">
          <dt class="kpi-label">Pending</dt>
          <dd class="kpi-value" data-count="pending">
            {rules.data ? rules.data.rules.flatMap((r) => r.series).filter((s) => s.status === 'pending').length : '…'}
          </dd>
        </div>
        <div class="kpi">
          <dt class="kpi-label">Silenced</dt>
          <dd class="kpi-value" data-count="silenced">
            {alerts.data ? alerts.data.alerts.filter((a) => a.silencedBy.length > 0).length : '…'}
          </dd>
        </div>
      </dl>
      <div class="toolbar">
        <ParamInput name="filter" label="Label filter" value={filter} placeholder="model=gpt-4o or any text" />
        {stateSelect('show', 'Show', show, [
          ['all', 'firing and pending'],
          ['firing', 'firing'],
          ['unsilenced', 'firing, not silenced'],
          ['pending', 'pending'],
        ])}
      </div>
      <Status loading={alerts.loading && !alerts.data} error={alerts.error ?? rules.error} />
      {show !== 'pending' && alerts.data && (
        <Card title="Firing">
          {firing.length === 0 ? (
            <p class="muted" data-empty>
              Nothing is firing{filter ? ' that matches the filter' : ''}. Rules are listed under Alert rules.
            </p>
          ) : (
            <TableWrap>
              <table data-alerts="firing">
                <caption class="sr-only">Firing alerts, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Alert</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Since</th>
                    <th scope="col">Summary</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {firing.map((a) => (
                    <tr key={a.fingerprint} data-fingerprint={a.fingerprint}>
                      <th scope="row">{a.labels['alertname'] ?? a.fingerprint}</th>
                      <td>
                        <LabelList labels={a.labels} skip={['alertname']} />
                      </td>
                      <td data-since={a.startsAtMs}>
                        {formatTime(a.startsAtMs)} <span class="muted">({formatAgo(a.startsAtMs, now)})</span>
                      </td>
                      <td data-summary>{a.annotations['summary'] ?? a.annotations['description'] ?? ''}</td>
                      <td>
                        <StatePill state={a.status} />
                        {a.silencedBy.length > 0 && (
                          <a
                            class="pill"
                            data-silenced
                            href={`/silences?state=all&id=${encodeURIComponent(a.silencedBy[0] as string)}`}
                          >
                            silenced
                          </a>
                        )}
                      </td>
                      <td>
                        <a
                          class="btn ghost"
                          href={`/silences?${new URLSearchParams(matchersFor(a.labels).map((m) => ['matcher', m]))}`}
                          aria-label={`Silence ${a.labels['alertname'] ?? 'this alert'}`}
                        >
                          Silence…
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Card>
      )}
      {(show === 'all' || show === 'pending') && rules.data && (
        <Card title="Pending">
          {pending.length === 0 ? (
            <p class="muted" data-empty>
              No series is pending: a rule's series waits here for its <code>for</code> before it fires.
            </p>
          ) : (
            <TableWrap>
              <table data-alerts="pending">
                <caption class="sr-only">Pending series, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Since</th>
                    <th scope="col" class="num">
                      Value
                    </th>
                    <th scope="col">Fires at</th>
                    <th scope="col">Summary</th>
                  </tr>
                </thead>
                <tbody>
                  {pending.map(({ rule, series }) => (
                    <tr key={`${rule.name}/${JSON.stringify(series.labels)}`}>
                      <th scope="row">
                        <a href={`/rules?name=${encodeURIComponent(rule.name)}`}>{rule.name}</a>
                      </th>
                      <td>
                        <LabelList labels={series.labels} skip={['alertname']} />
                      </td>
                      <td data-since={series.activeAtMs}>{formatTime(series.activeAtMs)}</td>
                      <td class="num" data-value>
                        {fmtValue(series.value)}
                      </td>
                      <td>{formatTime(series.activeAtMs + rule.for)}</td>
                      <td data-summary>{series.annotations?.['summary'] ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Card>
      )}
    </>
  );
}

const DURATION_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `2h`, `1d`, `1w` → ms, or null. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  return ms > 0 ? ms : null;
}

/** Silences: create (matchers may come from an alert's "Silence…" link), list by state, expire. */
export function Silences(props: PageProps) {
  const { params } = useLocation();
  const state = params.get('state') ?? 'current';
  const only = params.get('id') ?? '';
  const fromUrl = params.getAll('matcher');
  const events = useAlertEvents();
  const [bump, setBump] = useState(0);
  const list = useApi<{ silences: SilenceView[] }>('/api/v1/alerts/silences', null, props.refresh + events + bump);
  usePageReady(!list.loading);
  const [matchers, setMatchers] = useState(fromUrl.join('\n'));
  const [duration, setDuration] = useState('2h');
  const [createdBy, setCreatedBy] = useState('');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const urlMatchers = fromUrl.join('\n');
  useEffect(() => {
    if (urlMatchers) setMatchers(urlMatchers);
  }, [urlMatchers]);

  const create = async (e: Event) => {
    e.preventDefault();
    const ms = parseDuration(duration);
    const lines = matchers
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length === 0) return setError('Give at least one matcher, e.g. alertname="HighCost".');
    if (ms === null) return setError('Duration: a number and a unit, e.g. 30m, 2h, 1d or 1w.');
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ silence: SilenceView }>('/api/v1/alerts/silences', {
        method: 'POST',
        body: { matchers: lines, endsAtMs: Date.now() + ms, createdBy: createdBy.trim(), comment },
      });
      setCreated(r.silence.id);
      setComment('');
      setBump((b) => b + 1);
      if (fromUrl.length) setParams((p) => p.delete('matcher'));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const expire = async (id: string) => {
    setError(null);
    try {
      await api(`/api/v1/alerts/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
      setBump((b) => b + 1);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };

  const shown = (list.data?.silences ?? []).filter(
    (s) =>
      (!only || s.id === only) &&
      (state === 'all' || (state === 'current' ? s.state !== 'expired' : s.state === state)),
  );

  return (
    <>
      <div class="page-head">
        <h1>Silences</h1>
      </div>
      <Card title="New silence">
        <form class="silence-form" onSubmit={create} data-silence-form>
          <label class="grow">
            <span class="label">Matchers, one per line</span>
            <textarea
              rows={Math.max(2, matchers.split('\n').length)}
              value={matchers}
              placeholder={'alertname="HighCost"\nmodel=~"gpt-4o.*"'}
              onInput={(e) => setMatchers((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <div class="toolbar">
            <label>
              <span class="label">Duration</span>
              <input
                value={duration}
                size={6}
                aria-describedby="duration-help"
                onInput={(e) => setDuration((e.target as HTMLInputElement).value)}
              />
            </label>
            <label>
              <span class="label">Created by</span>
              <input
                value={createdBy}
                required
                maxLength={256}
                onInput={(e) => setCreatedBy((e.target as HTMLInputElement).value)}
              />
            </label>
            <label class="grow">
              <span class="label">Comment</span>
              <input
                value={comment}
                maxLength={4096}
                onInput={(e) => setComment((e.target as HTMLInputElement).value)}
              />
            </label>
            <button type="submit" class="btn primary" disabled={busy}>
              Create silence
            </button>
          </div>
          <p id="duration-help" class="muted">
            Matchers as in Alertmanager: <code>name="value"</code>, <code>!=</code>, <code>=~</code> and <code>!~</code>{' '}
            (regular expressions, anchored). Duration such as 30m, 2h, 1d or 1w, from now.
          </p>
        </form>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {created && (
          <p role="status" data-created={created}>
            Silence <code>{created}</code> created.
          </p>
        )}
      </Card>
      <div class="toolbar">
        {stateSelect('state', 'Show', state, [
          ['current', 'active and pending'],
          ['active', 'active'],
          ['pending', 'pending'],
          ['expired', 'expired'],
          ['all', 'all'],
        ])}
        {only && (
          <button type="button" class="btn" onClick={() => setParams((p) => p.delete('id'), true)}>
            Show every silence
          </button>
        )}
      </div>
      <Status loading={list.loading && !list.data} error={list.error} />
      {list.data && shown.length === 0 && (
        <p class="muted" data-empty>
          No silences here. A silence mutes the alerts its matchers select, for its period.
        </p>
      )}
      {shown.length > 0 && (
        <TableWrap>
          <table data-silences>
            <caption class="sr-only">Silences, latest end first</caption>
            <thead>
              <tr>
                <th scope="col">Matchers</th>
                <th scope="col">State</th>
                <th scope="col">Starts</th>
                <th scope="col">Ends</th>
                <th scope="col">Created by</th>
                <th scope="col">Comment</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.id} data-silence-id={s.id}>
                  <th scope="row">
                    <ul class="labels" aria-label="Matchers">
                      {s.matchers.map((m) => (
                        <li key={m}>
                          <code>{m}</code>
                        </li>
                      ))}
                    </ul>
                  </th>
                  <td data-state={s.state}>
                    <StatePill state={s.state} />
                    {s.recurring && <span class="pill">recurring</span>}
                  </td>
                  <td>{formatTime(s.startsAtMs)}</td>
                  <td>{formatTime(s.endsAtMs)}</td>
                  <td>{s.createdBy}</td>
                  <td>{s.comment}</td>
                  <td>
                    {s.state !== 'expired' && (
                      <button
                        type="button"
                        class="btn danger"
                        onClick={() => void expire(s.id)}
                        aria-label={`Expire silence ${s.matchers.join(', ')}`}
                      >
                        Expire
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}

const fmtMs = (ms: number) =>
  ms % 86_400_000 === 0 && ms > 0
    ? `${ms / 86_400_000}d`
    : ms % 3_600_000 === 0 && ms > 0
      ? `${ms / 3_600_000}h`
      : ms % 60_000 === 0 && ms > 0
        ? `${ms / 60_000}m`
        : ms % 1000 === 0
          ? `${ms / 1000}s`
          : `${ms}ms`;

/** What a rule tests, in one line. */
export function ruleCondition(r: RuleView): string {
  const scope = r.groupBy.length ? ` by ${r.groupBy.join(', ')}` : '';
  const over = r.window !== undefined ? ` over ${fmtMs(r.window)}` : '';
  if (r.threshold) return `${r.metric}${over}${scope} ${r.threshold.op} ${r.threshold.value}`;
  if (r.change)
    return `${r.metric}${over}${scope} ${r.change.op} ${r.change.percent}% against ${fmtMs(r.change.baseline)} before`;
  if (r.absent) return `no ${r.metric}${over}${scope} (seen in the ${fmtMs(r.absent.lookback)} before)`;
  if (r.signal)
    return `signal ${r.signal.source}${r.signal.matchers.length ? ` {${r.signal.matchers.join(', ')}}` : ''}${
      r.signal.minValue !== undefined ? ` ≥ ${r.signal.minValue}` : ''
    }`;
  return r.kind;
}

/** Rules with where they come from, their state and series, and the problems of the rule sources. */
export function AlertRules(props: PageProps) {
  const { params } = useLocation();
  const origin = params.get('origin') ?? 'all';
  const state = params.get('state') ?? 'all';
  const name = params.get('name') ?? '';
  const events = useAlertEvents();
  const res = useApi<{ problems: string[]; rules: RuleView[] }>('/api/v1/alerts/rules', null, props.refresh + events);
  usePageReady(!res.loading);
  const rules = (res.data?.rules ?? []).filter(
    (r) =>
      (origin === 'all' || r.origin === origin) &&
      (state === 'all' || r.state === state) &&
      (!name || r.name.toLowerCase().includes(name.toLowerCase())),
  );
  const problems = res.data?.problems ?? [];

  return (
    <>
      <div class="page-head">
        <h1>Alert rules</h1>
      </div>
      {problems.length > 0 && (
        <Card title={`Problems (${problems.length})`}>
          <ul class="problems" data-problems>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </Card>
      )}
      <div class="toolbar">
        <ParamInput name="name" label="Name" value={name} />
        {stateSelect('origin', 'Origin', origin, [
          ['all', 'any origin'],
          ['config', 'configuration'],
          ['file', 'rules file'],
          ['api', 'API'],
        ])}
        {stateSelect('state', 'State', state, [
          ['all', 'any state'],
          ['firing', 'firing'],
          ['pending', 'pending'],
          ['inactive', 'inactive'],
        ])}
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && rules.length === 0 && (
        <p class="muted" data-empty>
          No rules here. Rules come from the configuration, the rules file, or <code>reskpoints rules apply</code>.
        </p>
      )}
      {rules.length > 0 && (
        <TableWrap>
          <table data-rules-list>
            <caption class="sr-only">Alert rules</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Condition</th>
                <th scope="col">Origin</th>
                <th scope="col">State</th>
                <th scope="col" class="num">
                  Firing
                </th>
                <th scope="col" class="num">
                  Pending
                </th>
                <th scope="col">Every · for · keep firing</th>
                <th scope="col">Series</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.name} data-rule={r.name}>
                  <th scope="row">{r.name}</th>
                  <td>
                    <code>{ruleCondition(r)}</code>
                  </td>
                  <td>{r.origin}</td>
                  <td data-state={r.state}>
                    <StatePill state={r.state} />
                  </td>
                  <td class="num" data-firing>
                    {r.series.filter((s) => s.status === 'firing').length}
                  </td>
                  <td class="num" data-pending>
                    {r.series.filter((s) => s.status === 'pending').length}
                  </td>
                  <td>
                    {fmtMs(r.interval)} · {fmtMs(r.for)} · {fmtMs(r.keepFiringFor)}
                  </td>
                  <td>
                    {r.series.length === 0 ? (
                      <span class="muted">—</span>
                    ) : (
                      <details>
                        <summary>{r.series.length} series</summary>
                        <ul class="series-list">
                          {r.series.map((s) => (
                            <li key={JSON.stringify(s.labels)}>
                              <StatePill state={s.status} /> {fmtValue(s.value)}{' '}
                              <LabelList labels={s.labels} skip={['alertname']} />
                            </li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}

/** The outbox (waiting and retrying notifications) and the latest deliveries. */
export function Notifications(props: PageProps) {
  const { params } = useLocation();
  const receiver = params.get('receiver') ?? '';
  const outcome = params.get('outcome') ?? 'all';
  const events = useAlertEvents();
  const res = useApi<{ pending: OutboxItem[]; sent: SentItem[] }>(
    '/api/v1/alerts/notifications',
    new URLSearchParams({ limit: '200' }),
    props.refresh + events,
  );
  usePageReady(!res.loading);
  const byReceiver = (r: { receiver: string }) => !receiver || r.receiver === receiver;
  const pending = (res.data?.pending ?? []).filter(byReceiver);
  const sent = (res.data?.sent ?? []).filter((s) => byReceiver(s) && (outcome === 'all' || s.outcome === outcome));
  const now = Date.now();

  return (
    <>
      <div class="page-head">
        <h1>Notification log</h1>
      </div>
      <div class="toolbar">
        <ParamInput name="receiver" label="Receiver" value={receiver} />
        {stateSelect('outcome', 'Outcome', outcome, [
          ['all', 'any outcome'],
          ['delivered', 'delivered'],
          ['failed', 'failed'],
        ])}
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && (
        <Card title={`Outbox (${pending.length})`}>
          {pending.length === 0 ? (
            <p class="muted" data-empty>
              Nothing waiting: every notification decided on has been delivered or given up.
            </p>
          ) : (
            <TableWrap>
              <table data-outbox>
                <caption class="sr-only">Notifications waiting for delivery</caption>
                <thead>
                  <tr>
                    <th scope="col">Group</th>
                    <th scope="col">Receiver</th>
                    <th scope="col">Status</th>
                    <th scope="col">Queued</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">Next attempt</th>
                    <th scope="col">Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {pending.map((p) => (
                    <tr key={p.id}>
                      <th scope="row">
                        <code>{p.groupKey}</code>
                      </th>
                      <td>
                        {p.receiver}
                        {p.channel ? <span class="muted"> · {p.channel}</span> : null}
                      </td>
                      <td>{p.status}</td>
                      <td>{formatTime(p.createdAtMs)}</td>
                      <td class="num">{p.attempts}</td>
                      <td>{p.nextAttemptAtMs <= now ? 'now' : formatTime(p.nextAttemptAtMs)}</td>
                      <td>{p.lastError ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Card>
      )}
      {res.data && (
        <Card title="Recent deliveries">
          {sent.length === 0 ? (
            <p class="muted" data-empty>
              No notification has been sent{receiver || outcome !== 'all' ? ' that matches the filters' : ' yet'}.
            </p>
          ) : (
            <TableWrap>
              <table data-sent>
                <caption class="sr-only">Notifications sent or given up, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Group</th>
                    <th scope="col">Receiver</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">
                      Alerts
                    </th>
                    <th scope="col">Outcome</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">Finished</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {sent.map((s) => (
                    <tr key={s.id} data-notification={s.id}>
                      <th scope="row">
                        <code>{s.groupKey}</code>
                      </th>
                      <td>
                        {s.receiver}
                        {s.channel ? <span class="muted"> · {s.channel}</span> : null}
                      </td>
                      <td>{s.status}</td>
                      <td class="num">{s.alertCount}</td>
                      <td>
                        <StatePill state={s.outcome} />
                      </td>
                      <td class="num">{s.attempts}</td>
                      <td>
                        {formatTime(s.finishedAtMs)}{' '}
                        <span class="muted">
                          ({formatDurationShort(s.finishedAtMs - s.createdAtMs)} after queueing)
                        </span>
                      </td>
                      <td>{s.detail ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Card>
      )}
    </>
  );
}

function formatDurationShort(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return fmtMs(Math.round(ms / 1000) * 1000);
}
