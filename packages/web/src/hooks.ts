import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type Anomaly, anomalyParams } from './anomalies.js';
import { api } from './api.js';
import { useLocation } from './router.js';
import { type Filters, readFilters, readRange, resolveRange, type TimeRange } from './url-state.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * Loads `path` whenever `key` changes; a newer request cancels the older one. `path` null
 * loads nothing.
 */
export function useApi<T>(path: string | null, params: URLSearchParams | null, refresh = 0): Loaded<T> {
  const key = path === null ? null : `${path}?${params?.toString() ?? ''}#${refresh}`;
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: path !== null });
  useEffect(() => {
    if (path === null) return;
    const ctrl = new AbortController();
    setState((s) => ({ data: s.data, error: null, loading: true }));
    api<T>(path, { params: params ?? undefined, signal: ctrl.signal }).then(
      (data) => setState({ data, error: null, loading: false }),
      (e: Error) => {
        if (ctrl.signal.aborted) return;
        setState({ data: null, error: e.message, loading: false });
      },
    );
    return () => ctrl.abort();
  }, [key]);
  return state;
}

/** Range and filters from the URL, and the concrete window they mean (fixed until the URL changes or `refresh`). */
export function usePageState(refresh = 0): {
  params: URLSearchParams;
  range: TimeRange;
  filters: Filters;
  window: { fromMs: number; toMs: number };
} {
  const { params } = useLocation();
  const search = params.toString();
  const range = useMemo(() => readRange(params), [search]);
  const filters = useMemo(() => readFilters(params), [search]);
  const window = useMemo(() => resolveRange(range, Date.now()), [search, refresh]);
  return { params, range, filters, window };
}

export function useInterval(fn: () => void, ms: number | null): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

/**
 * Marks the page view ready once its main numbers or chart are on screen (`ready` turns true
 * when the first data, or an error, arrived): sets `data-ready` on `<main>` and the
 * `rp:ready` performance mark, once per page view. Browser tests wait for the marker;
 * `npm run bench:dashboard` reads the mark as the time to first meaningful paint. Every page
 * calls this.
 */
export function usePageReady(ready: boolean): void {
  useEffect(() => {
    if (!ready) return;
    const main = document.getElementById('main');
    if (!main || main.hasAttribute('data-ready')) return;
    main.setAttribute('data-ready', '');
    performance.mark('rp:ready', { detail: location.pathname });
    document.dispatchEvent(new Event('rp:ready'));
  }, [ready]);
}

/** Longest a secondary load waits for the page's main data, ms (a page that never marks itself ready). */
const SECONDARY_WAIT_MS = 2000;

/**
 * False until the page view is ready (see usePageReady), then true: secondary loads (filter
 * options, side lists) pass `null` to useApi until then, so the server answers the page's
 * headline queries first instead of queueing them behind the rest.
 */
export function useAfterPageReady(): boolean {
  const isReady = () => !!document.getElementById('main')?.hasAttribute('data-ready');
  const [done, setDone] = useState(isReady);
  useEffect(() => {
    if (done) return;
    if (isReady()) {
      setDone(true);
      return;
    }
    const go = () => setDone(true);
    document.addEventListener('rp:ready', go, { once: true });
    const timer = setTimeout(go, SECONDARY_WAIT_MS);
    return () => {
      document.removeEventListener('rp:ready', go);
      clearTimeout(timer);
    };
  }, [done]);
  return done;
}

/**
 * Anomalies the detect module found from the window's start (`GET /api/v1/anomalies`), asked
 * once the page's main data are in. Empty while loading, or when detection is off (404).
 */
export function useAnomalies(window: { fromMs: number; toMs: number }, filters: Filters): Anomaly[] {
  const after = useAfterPageReady();
  const res = useApi<{ anomalies: Anomaly[] }>(after ? '/api/v1/anomalies' : null, anomalyParams(window, filters));
  return res.data?.anomalies ?? [];
}
