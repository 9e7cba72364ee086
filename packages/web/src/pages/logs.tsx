import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken } from '../api.js';
import { RangePicker, Status, TableWrap } from '../components.js';
import { formatTime } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';

export const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface LogLine {
  id: string;
  projectId?: string;
  timeMs: number;
  serviceName: string | null;
  environment: string;
  severity: string;
  body: string;
  traceId: string | null;
  spanId: string | null;
  patternId: string | null;
}

const PAGE = 100;
const KEEP_LIVE = 300;

/** A text filter kept in the URL, committed on Enter or when the field loses focus. */
export function ParamInput(props: { name: string; label: string; value: string; placeholder?: string }) {
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  const commit = () =>
    setParams((p) => {
      if (text.trim()) p.set(props.name, text.trim());
      else p.delete(props.name);
    }, true);
  return (
    <label>
      <span class="label">{props.label}</span>
      <input
        type="search"
        value={text}
        placeholder={props.placeholder ?? 'any'}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        onChange={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
      />
    </label>
  );
}

export function SeveritySelect(props: { value: string }) {
  return (
    <label>
      <span class="label">Severity</span>
      <select
        value={props.value}
        onChange={(e) =>
          setParams((p) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v) p.set('severity', v);
            else p.delete('severity');
          }, true)
        }
      >
        <option value="">any</option>
        <option value="warn,error,fatal">warn and above</option>
        <option value="error,fatal">error and above</option>
        {SEVERITIES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

function traceHref(l: LogLine, projectId: string | undefined): string {
  const p = l.projectId ?? projectId;
  return `/traces/${encodeURIComponent(l.traceId as string)}${p ? `?project=${encodeURIComponent(p)}` : ''}`;
}

function LogTable(props: { items: LogLine[]; caption: string; isAdmin: boolean; live?: boolean }) {
  return (
    <TableWrap>
      <table data-logs={props.live ? 'live' : 'search'} class="logs">
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            {props.isAdmin && <th scope="col">Project</th>}
            <th scope="col">Service</th>
            <th scope="col">Severity</th>
            <th scope="col">Message</th>
            <th scope="col">Pattern</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((l) => (
            <tr
              key={`${l.projectId ?? ''}/${l.id}`}
              class={l.severity === 'error' || l.severity === 'fatal' ? 'row-error' : ''}
            >
              <td>{formatTime(l.timeMs)}</td>
              {props.isAdmin && <td>{l.projectId ?? '—'}</td>}
              <td>{l.serviceName ?? '—'}</td>
              <td>
                <span class={`pill sev-${l.severity}`}>{l.severity}</span>
              </td>
              <td class="log-body">{l.body}</td>
              <td>
                {l.patternId ? (
                  <a href={`/logs?pattern=${encodeURIComponent(l.patternId)}`} title="Lines of this pattern">
                    {l.patternId.slice(0, 10)}…
                  </a>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {l.traceId ? (
                  <a href={traceHref(l, l.projectId)} data-trace-link>
                    {l.traceId.slice(0, 8)}…
                  </a>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** The logs explorer: search by time, service, severity, pattern, trace and text, or follow new lines live. */
export function Logs(props: PageProps) {
  const { params, range, window } = usePageState(props.refresh);
  const service = params.get('service') ?? '';
  const severity = params.get('severity') ?? '';
  const q = params.get('q') ?? '';
  const traceId = params.get('traceId') ?? '';
  const pattern = params.get('pattern') ?? '';
  const project = params.get('project') ?? '';
  const live = params.get('live') === '1';
  const [cursors, setCursors] = useState<string[]>([]);
  const key = `${params.toString()}#${props.refresh}`;
  const [pageKey, setPageKey] = useState(key);
  if (pageKey !== key) {
    setPageKey(key);
    if (cursors.length > 0) setCursors([]);
  }
  const query = new URLSearchParams({
    from: String(window.fromMs),
    to: String(window.toMs),
    limit: String(PAGE),
  });
  if (service) query.set('service', service);
  if (severity) query.set('severity', severity);
  if (q) query.set('q', q);
  if (traceId) query.set('traceId', traceId);
  if (pattern) query.set('pattern', pattern);
  if (project) query.set('project', project);
  const cursor = cursors[cursors.length - 1];
  if (cursor) query.set('cursor', cursor);
  const res = useApi<{ items: LogLine[]; nextCursor: string | null }>(live ? null : '/api/v1/logs', query);

  const [liveItems, setLiveItems] = useState<LogLine[]>([]);
  const [state, setState] = useState<'off' | 'connecting' | 'open' | 'closed'>('off');
  const filterRef = useRef({ service, severity, q, pattern });
  filterRef.current = { service, severity, q, pattern };
  useEffect(() => {
    if (!live) {
      setState('off');
      return;
    }
    const qs = new URLSearchParams({ token: getToken() ?? '', topics: 'logs' });
    if (project) qs.set('project', project);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const connect = () => {
      setState('connecting');
      ws = new WebSocket(`${proto}//${location.host}/api/v1/events?${qs}`);
      ws.onopen = () => setState('open');
      ws.onclose = () => {
        setState('closed');
        if (!stopped) retry = setTimeout(connect, 3000);
      };
      ws.onmessage = (ev) => {
        const msg = JSON.parse(String(ev.data)) as {
          topic: string;
          projectId: string | null;
          data?: { items?: LogLine[] };
        };
        if (msg.topic !== 'logs' || !msg.data?.items) return;
        const f = filterRef.current;
        const sev = f.severity ? new Set(f.severity.split(',')) : null;
        const text = f.q.toLowerCase();
        const fresh = msg.data.items
          .filter(
            (l) =>
              (!f.service || l.serviceName === f.service) &&
              (!sev || sev.has(l.severity)) &&
              (!f.pattern || l.patternId === f.pattern) &&
              (!text || l.body.toLowerCase().includes(text)),
          )
          .map((l) => ({ ...l, projectId: msg.projectId ?? undefined }))
          .reverse();
        if (fresh.length) setLiveItems((old) => [...fresh, ...old].slice(0, KEEP_LIVE));
      };
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    };
  }, [live, project]);
  usePageReady(live ? state !== 'connecting' : !res.loading);
  const items = res.data?.items ?? [];

  return (
    <>
      <div class="page-head">
        <h1>Logs</h1>
        {!live && <RangePicker range={range} onRefresh={props.onRefresh} />}
      </div>
      <div class="toolbar">
        <ParamInput name="q" label="Text" value={q} placeholder="contains…" />
        <ParamInput name="service" label="Service" value={service} />
        <SeveritySelect value={severity} />
        <ParamInput name="pattern" label="Pattern" value={pattern} />
        <ParamInput name="traceId" label="Trace id" value={traceId} />
        {props.isAdmin && <ParamInput name="project" label="Project" value={project} />}
        <div class="spacer" />
        <button
          type="button"
          class="btn"
          aria-pressed={live}
          onClick={() =>
            setParams((p) => {
              if (live) p.delete('live');
              else p.set('live', '1');
            }, true)
          }
        >
          {live ? 'Stop live tail' : 'Live tail'}
        </button>
      </div>
      {live ? (
        <>
          <p class="muted" aria-live="polite" data-live-state={state}>
            {state === 'open'
              ? 'Following new lines'
              : state === 'connecting'
                ? 'Connecting…'
                : 'Disconnected, retrying…'}
          </p>
          {liveItems.length === 0 ? (
            <p class="muted">Waiting for log lines… new lines appear here as they are stored.</p>
          ) : (
            <LogTable items={liveItems} caption="Log lines as they arrive, newest first" isAdmin={props.isAdmin} live />
          )}
        </>
      ) : (
        <>
          <Status loading={res.loading && !res.data} error={res.error} />
          {res.data && items.length === 0 && (
            <p class="muted" data-empty>
              No log lines match in this range. Widen the time range or clear a filter; logs arrive on{' '}
              <code>/v1/logs</code>, <code>/loki/api/v1/push</code> or <code>/api/v1/logs</code>.
            </p>
          )}
          {items.length > 0 && <LogTable items={items} caption="Log lines, newest first" isAdmin={props.isAdmin} />}
          <nav class="pager" aria-label="Pages">
            <button
              type="button"
              class="btn"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              class="btn"
              disabled={!res.data?.nextCursor}
              onClick={() => res.data?.nextCursor && setCursors([...cursors, res.data.nextCursor])}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </>
  );
}
