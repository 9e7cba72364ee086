import { useEffect, useRef, useState } from 'preact/hooks';
import type { LlmCall } from '../api.js';
import { Drawer, FilterBar, RangePicker, Status, TableWrap } from '../components.js';
import { formatCount, formatDurationMs, formatTime, formatUsd } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';
import { apiParams } from '../url-state.js';

const PAGE = 50;

export function Calls(props: PageProps) {
  const { params, range, filters, window } = usePageState(props.refresh);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const search = params.get('q') ?? '';
  const traceId = params.get('traceId') ?? undefined;
  const key = `${params.toString()}#${props.refresh}`;
  const [pageKey, setPageKey] = useState(key);
  if (pageKey !== key) {
    setPageKey(key);
    if (cursors.length > 0) setCursors([]);
  }
  const res = useApi<{ items: LlmCall[]; nextCursor: string | null }>(
    '/api/v1/llm/calls',
    apiParams(window, filters, { limit: PAGE, cursor, traceId, q: search.trim() || undefined }),
  );
  usePageReady(!res.loading);
  const items = res.data?.items ?? [];
  const openId = params.get('call');
  const openProject = params.get('callProject');
  const open = res.data?.items.find((c) => c.id === openId && (!openProject || c.projectId === openProject)) ?? null;
  const openCall = (c: LlmCall | null) =>
    setParams((p) => {
      if (c) {
        p.set('call', c.id);
        p.set('callProject', c.projectId);
      } else {
        p.delete('call');
        p.delete('callProject');
      }
    }, !!c);

  return (
    <>
      <div class="page-head">
        <h1>LLM calls</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <FilterBar filters={filters} window={window} hideProject={!props.isAdmin} />
      <div class="toolbar">
        <SearchBox value={search} />
        {traceId && (
          <button type="button" class="btn" onClick={() => setParams((p) => p.delete('traceId'), true)}>
            Trace {traceId.slice(0, 8)}… ✕
          </button>
        )}
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && items.length === 0 && (
        <p class="muted" data-empty>
          {search
            ? `No call in this range has “${search}” in its id, trace, user, session, service, model, error, prompt or response. Widen the time range or clear a filter.`
            : 'No calls in this range. Widen the time range, or send a call: see the Overview page for the set-up.'}
        </p>
      )}
      {items.length > 0 && (
        <TableWrap>
          <table data-calls>
            <caption class="sr-only">LLM calls, newest first; open a row for details</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                {props.isAdmin && <th scope="col">Project</th>}
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Latency
                </th>
                <th scope="col" class="num">
                  Tokens
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col">User</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={`${c.projectId}/${c.id}`} class={c.status === 'error' ? 'row-error' : ''}>
                  <td>
                    <button type="button" class="link" onClick={() => openCall(c)} data-call-id={c.id}>
                      {formatTime(c.startTimeMs)}
                    </button>
                  </td>
                  {props.isAdmin && <td>{c.projectId}</td>}
                  <td>{c.model}</td>
                  <td>
                    <span class={`pill ${c.status}`}>{c.status}</span>
                  </td>
                  <td class="num">{formatDurationMs(c.latencyMs)}</td>
                  <td class="num">{formatCount(c.usage.totalTokens)}</td>
                  <td class="num">{formatUsd(c.cost?.totalUsd ?? null)}</td>
                  <td>{c.userId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          class="btn"
          disabled={cursors.length === 0}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <span class="muted">Page {cursors.length + 1}</span>
        <button
          type="button"
          class="btn"
          disabled={!res.data?.nextCursor}
          onClick={() => res.data?.nextCursor && setCursors([...cursors, res.data.nextCursor])}
        >
          Older
        </button>
      </nav>
      {open && <CallDrawer call={open} onClose={() => openCall(null)} />}
    </>
  );
}

/** The search field: written to the URL (`q`) a moment after typing stops, or at once on Enter. */
function SearchBox(props: { value: string }) {
  const [text, setText] = useState(props.value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => setText(props.value), [props.value]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const commit = (v: string) => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    setParams((p) => {
      if (v.trim()) p.set('q', v.trim());
      else p.delete('q');
    });
  };
  return (
    <form
      class="grow"
      onSubmit={(e) => {
        e.preventDefault();
        commit(text);
      }}
    >
      <label>
        <span class="label">Search calls</span>
        <input
          type="search"
          value={text}
          maxLength={200}
          placeholder="id, model, user, error, prompt or response text…"
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setText(v);
            if (timer.current) clearTimeout(timer.current);
            timer.current = setTimeout(() => commit(v), 350);
          }}
        />
      </label>
    </form>
  );
}

function Row(props: { k: string; v: string | number | null | undefined }) {
  return (
    <>
      <dt>{props.k}</dt>
      <dd>{props.v === null || props.v === undefined || props.v === '' ? '—' : props.v}</dd>
    </>
  );
}

export function CallDrawer(props: { call: LlmCall; onClose: () => void }) {
  const c = props.call;
  // The cost's parts and provenance: price entry, version, tier, estimated tokens, reported cost.
  const provenance: Array<[string, unknown]> = [
    ...Object.entries(c.cost ?? {}).filter(([k, v]) => k !== 'totalUsd' && v !== null && v !== 0 && v !== false),
    ...(c.reportedCostUsd !== null && c.reportedCostUsd !== undefined
      ? [['reportedCostUsd', c.reportedCostUsd] as [string, unknown]]
      : []),
  ];
  const usageKeys = [
    'inputTokens',
    'outputTokens',
    'cacheReadTokens',
    'cacheWriteTokens',
    'reasoningTokens',
    'totalTokens',
  ] as const;
  return (
    <Drawer title={`Call ${c.id}`} onClose={props.onClose}>
      <dl class="kv">
        <Row k="Time" v={formatTime(c.startTimeMs)} />
        <Row k="Project" v={c.projectId} />
        <Row k="Environment" v={c.environment} />
        <Row k="Provider / model" v={`${c.provider} / ${c.model}`} />
        <Row k="Requested / answered model" v={`${c.requestModel ?? '—'} / ${c.responseModel ?? '—'}`} />
        <Row k="Operation" v={c.operation} />
        <Row k="Source" v={c.source} />
        <Row k="Status" v={c.status} />
        <Row k="Latency" v={formatDurationMs(c.latencyMs)} />
        <Row k="Time to first token" v={formatDurationMs(c.ttftMs)} />
        <Row k="User / session" v={`${c.userId ?? '—'} / ${c.sessionId ?? '—'}`} />
        <Row k="Service" v={c.serviceName} />
        <Row k="Tags" v={c.tags.join(', ')} />
      </dl>
      {c.traceId && (
        <p>
          <a
            class="btn"
            href={`/traces/${encodeURIComponent(c.traceId)}?project=${encodeURIComponent(c.projectId)}`}
            data-trace-link
          >
            Open trace {c.traceId.slice(0, 12)}…
          </a>
        </p>
      )}
      {c.status === 'error' && (
        <>
          <h3>Error</h3>
          <p class="error">
            <strong>{c.errorType ?? 'error'}</strong> {c.errorMessage}
          </p>
        </>
      )}
      <Row k="Cost" v={c.cost?.totalUsd == null ? 'unknown (no price for this model)' : formatUsd(c.cost.totalUsd)} />
      <dl class="kv">
        <Row
          k="Cost"
          v={c.costUsd === null ? 'unknown (no price for this model)' : formatUsd(c.cost?.totalUsd ?? null)}
        />
        {provenance.map(([k, v]) => (
          <Row key={k} k={k} v={typeof v === 'object' ? JSON.stringify(v) : String(v)} />
        ))}
      </dl>
      <h3>Usage</h3>
      <TableWrap>
        <table class="compact">
          <caption class="sr-only">Token usage as reported and normalised</caption>
          <thead>
            <tr>
              <th scope="col">Tokens</th>
              <th scope="col" class="num">
                Reported ({String(c.usageRaw['semantics'] ?? '')})
              </th>
              <th scope="col" class="num">
                Normalised
              </th>
            </tr>
          </thead>
          <tbody>
            {usageKeys.map((k) => (
              <tr key={k}>
                <th scope="row">{k.replace('Tokens', '')}</th>
                <td class="num">{formatCount(c.usageRaw[k] as number | null)}</td>
                <td class="num">{formatCount(c.usage[k])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <h3>Prompt</h3>
      <pre class="excerpt">{c.promptExcerpt ?? '(not recorded)'}</pre>
      <h3>Response</h3>
      <pre class="excerpt">{c.responseExcerpt ?? '(not recorded)'}</pre>
      {Object.keys(c.metadata).length > 0 && (
        <>
          <h3>Metadata</h3>
          <dl class="kv">
            {Object.entries(c.metadata).map(([k, v]) => (
              <Row key={k} k={k} v={v} />
            ))}
          </dl>
        </>
      )}
    </Drawer>
  );
}
