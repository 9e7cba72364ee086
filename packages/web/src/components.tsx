import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { type ChartMarker, METRIC_LABELS } from './anomalies.js';
import type { SummaryResult } from './api.js';
import { formatTime } from './format.js';
import { useAfterPageReady, useApi } from './hooks.js';
import { setParams } from './router.js';
import {
  apiParams,
  type FilterKey,
  type Filters,
  RELATIVE_RANGES,
  rangeLabel,
  type TimeRange,
  writeFilters,
  writeRange,
} from './url-state.js';

export function RangePicker(props: { range: TimeRange; onRefresh?: () => void }) {
  const value = props.range.kind === 'relative' ? props.range.key : 'custom';
  return (
    <div class="range">
      <label>
        <span class="label">Time range</span>
        <select
          value={value}
          onChange={(e) => {
            const key = (e.target as HTMLSelectElement).value;
            const r = RELATIVE_RANGES.find((x) => x.key === key);
            if (r) setParams((p) => writeRange(p, { kind: 'relative', key: r.key, ms: r.ms }), true);
          }}
        >
          {RELATIVE_RANGES.map((r) => (
            <option key={r.key} value={r.key}>
              {r.label}
            </option>
          ))}
          {props.range.kind === 'relative' && !RELATIVE_RANGES.some((r) => r.key === value) && (
            <option value={value}>{rangeLabel(props.range)}</option>
          )}
          {props.range.kind === 'absolute' && <option value="custom">Custom range</option>}
        </select>
      </label>
      {props.onRefresh && (
        <button type="button" class="btn" onClick={props.onRefresh}>
          Refresh
        </button>
      )}
    </div>
  );
}

const FILTER_LABELS: Partial<Record<FilterKey, string>> = {
  project: 'Project',
  model: 'Model',
  provider: 'Provider',
  environment: 'Environment',
  status: 'Status',
  user: 'User',
};

/** Filters as selects of the values seen in the window (and a free-text user), written to the URL. */
export function FilterBar(props: {
  filters: Filters;
  window: { fromMs: number; toMs: number };
  dims?: FilterKey[];
  hideProject?: boolean;
}) {
  const dims = (props.dims ?? ['project', 'model', 'provider', 'environment', 'status', 'user']).filter(
    (d) => !(props.hideProject && d === 'project'),
  );
  const set = (k: FilterKey, v: string) =>
    setParams(
      (p) =>
        writeFilters(p, {
          ...props.filters,
          [k]: v
            ? v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : [],
        }),
      true,
    );
  return (
    <fieldset class="filters">
      <legend class="sr-only">Filters</legend>
      {dims.map((d) =>
        d === 'user' ? (
          <label key={d}>
            <span class="label">{FILTER_LABELS[d]}</span>
            <input
              type="search"
              placeholder="user id"
              value={props.filters[d]?.join(',') ?? ''}
              onChange={(e) => set(d, (e.target as HTMLInputElement).value)}
            />
          </label>
        ) : (
          <DimensionSelect key={d} dim={d} filters={props.filters} window={props.window} onChange={(v) => set(d, v)} />
        ),
      )}
      {Object.keys(props.filters).length > 0 && (
        <button type="button" class="btn link" onClick={() => setParams((p) => writeFilters(p, {}), true)}>
          Clear filters
        </button>
      )}
    </fieldset>
  );
}

function DimensionSelect(props: {
  dim: FilterKey;
  filters: Filters;
  window: { fromMs: number; toMs: number };
  onChange: (v: string) => void;
}) {
  const current = props.filters[props.dim]?.join(',') ?? '';
  const seen = useOptions(props.dim === 'status' ? null : props.dim, props.window);
  const options =
    props.dim === 'status' ? ['ok', 'error'] : (seen ?? []).filter((o): o is string => o !== null && o !== '');
  if (current && !options.includes(current)) options.unshift(current);
  return (
    <label>
      <span class="label">{FILTER_LABELS[props.dim] ?? props.dim}</span>
      <select value={current} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

function useOptions(dim: FilterKey | null, window: { fromMs: number; toMs: number }): Array<string | null> | null {
  const after = useAfterPageReady();
  const res = useApi<SummaryResult>(
    dim === null || !after ? null : '/api/v1/llm/summary',
    apiParams(hourAligned(window), {}, { groupBy: dim ?? '', orderBy: 'requests', limit: 50 }),
  );
  return res.data && dim ? res.data.rows.map((r) => r.group[dim] ?? null) : null;
}

/** The window widened to whole hours, so the summary can be answered from hourly rollups. */
export function hourAligned(w: { fromMs: number; toMs: number }): { fromMs: number; toMs: number } {
  const H = 3_600_000;
  return { fromMs: Math.floor(w.fromMs / H) * H, toMs: Math.ceil(w.toMs / H) * H };
}

export function Card(props: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  const id = props.id ?? `card-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class="card" aria-labelledby={id}>
      <header class="card-head">
        <h2 id={id}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function Status(props: { loading: boolean; error: string | null }) {
  if (props.error)
    return (
      <p class="error" role="alert">
        Could not load: {props.error}
      </p>
    );
  if (props.loading)
    return (
      <p class="muted" aria-live="polite">
        Loading…
      </p>
    );
  return null;
}

/** A modal side panel: focus moves into it, Escape closes it, focus returns where it was. */
export function Drawer(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    ref.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
      if (e.key === 'Tab' && ref.current) {
        const items = ref.current.querySelectorAll<HTMLElement>(
          'a[href], button, input, select, textarea, [tabindex="0"]',
        );
        const first = items[0];
        const last = items[items.length - 1];
        if (!first || !last) return;
        if (e.shiftKey && document.activeElement === first) {
          e.preventDefault();
          last.focus();
        } else if (!e.shiftKey && document.activeElement === last) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, []);
  return (
    <div class="drawer-backdrop">
      <button type="button" class="drawer-scrim" tabIndex={-1} aria-label="Close details" onClick={props.onClose} />
      <div class="drawer" role="dialog" aria-modal="true" aria-labelledby="drawer-title" tabIndex={-1} ref={ref}>
        <header class="card-head">
          <h2 id="drawer-title">{props.title}</h2>
          <button type="button" class="btn" onClick={props.onClose} aria-label="Close details">
            Close
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A table's horizontal scroller. It takes keyboard focus so that people without a mouse can
 * scroll a table wider than a phone screen (WCAG 2.1.1).
 */
export function TableWrap(props: { children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section class="table-wrap" tabIndex={0} aria-label="Table (scrolls sideways on narrow screens)">
      {props.children}
    </section>
  );
}

/** Newer/older buttons over cursor pages; a null handler disables its button. */
export function Pager(props: { page: number; onNewer: (() => void) | null; onOlder: (() => void) | null }) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="btn" disabled={!props.onNewer} onClick={() => props.onNewer?.()}>
        Newer
      </button>
      <span class="muted" data-page>
        Page {props.page}
      </span>
      <button type="button" class="btn" disabled={!props.onOlder} onClick={() => props.onOlder?.()}>
        Older
      </button>
    </nav>
  );
}

/**
 * The anomalies marked on a chart, as text (the marks themselves are drawn on the canvas):
 * collapsed to a count, opened for the list.
 */
export function AnomalyList(props: { markers: readonly ChartMarker[]; showMetric?: boolean }) {
  const n = props.markers.length;
  if (n === 0) return null;
  return (
    <details class="anomalies" data-anomalies={n}>
      <summary>
        <span class="anomaly-mark" aria-hidden="true">
          ▼
        </span>{' '}
        {n} anomal{n === 1 ? 'y' : 'ies'} in this range
      </summary>
      <ul>
        {props.markers.map((m) => (
          <li key={m.id} data-anomaly={m.id}>
            <time dateTime={new Date(m.atMs).toISOString()}>{formatTime(m.atMs, false)}</time>{' '}
            {props.showMetric && <strong>{METRIC_LABELS[m.metric] ?? m.metric}: </strong>}
            {m.label}
          </li>
        ))}
      </ul>
    </details>
  );
}
