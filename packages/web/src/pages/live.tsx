import { useEffect, useRef, useState } from 'preact/hooks';
import { getToken, type LlmCall } from '../api.js';
import { TableWrap } from '../components.js';
import { formatCount, formatDurationMs, formatTime, formatUsd } from '../format.js';
import { usePageReady } from '../hooks.js';
import { setParams, useLocation } from '../router.js';
import { CallDrawer } from './calls.js';

const KEEP = 200;

export function Live(props: { isAdmin: boolean }) {
  const { params } = useLocation();
  const model = params.get('model') ?? '';
  const project = params.get('project') ?? '';
  const [calls, setCalls] = useState<LlmCall[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<'connecting' | 'open' | 'closed'>('connecting');
  const [received, setReceived] = useState(0);
  const [open, setOpen] = useState<LlmCall | null>(null);
  usePageReady(state !== 'connecting');
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    // A new filter starts an empty table: rows from before it may not match.
    setCalls([]);
    const q = new URLSearchParams({ token: getToken() ?? '' });
    if (model) q.set('model', model);
    if (project) q.set('project', project);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const connect = () => {
      setState('connecting');
      ws = new WebSocket(`${proto}//${location.host}/api/v1/live?${q}`);
      ws.onopen = () => setState('open');
      ws.onclose = () => {
        setState('closed');
        if (!stopped) retry = setTimeout(connect, 3000);
      };
      ws.onmessage = (ev) => {
        const msg = JSON.parse(String(ev.data)) as { type: string; items?: LlmCall[] };
        if (msg.type !== 'llm_calls' || !msg.items) return;
        setReceived((n) => n + msg.items!.length);
        if (pausedRef.current) return;
        const fresh = [...msg.items].sort((a, b) => b.startTimeMs - a.startTimeMs);
        setCalls((old) => [...fresh, ...old].slice(0, KEEP));
      };
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    };
  }, [model, project]);

  const setFilter = (k: string, v: string) =>
    setParams((p) => {
      if (v) p.set(k, v);
      else p.delete(k);
    }, true);

  return (
    <>
      <div class="page-head">
        <h1>Live</h1>
        <p class="muted" aria-live="polite" data-live-state={state}>
          {state === 'open' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Disconnected, retrying…'} ·{' '}
          <span data-received>{formatCount(received)}</span> calls received
        </p>
      </div>
      <div class="toolbar">
        <label>
          <span class="label">Model</span>
          <input
            type="search"
            value={model}
            placeholder="any"
            onChange={(e) => setFilter('model', (e.target as HTMLInputElement).value)}
          />
        </label>
        {props.isAdmin && (
          <label>
            <span class="label">Project</span>
            <input
              type="search"
              value={project}
              placeholder="any"
              onChange={(e) => setFilter('project', (e.target as HTMLInputElement).value)}
            />
          </label>
        )}
        <div class="spacer" />
        <button type="button" class="btn" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" class="btn" onClick={() => setCalls([])}>
          Clear
        </button>
      </div>
      {calls.length === 0 ? (
        <p class="muted">Waiting for calls… new calls appear here as they are stored.</p>
      ) : (
        <TableWrap>
          <table data-live>
            <caption class="sr-only">Calls as they arrive, newest first</caption>
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
              </tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={`${c.projectId}/${c.id}`} class={c.status === 'error' ? 'row-error' : ''}>
                  <td>
                    <button type="button" class="link" onClick={() => setOpen(c)}>
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
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {open && <CallDrawer call={open} onClose={() => setOpen(null)} />}
    </>
  );
}
