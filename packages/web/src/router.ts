import { useEffect, useState } from 'preact/hooks';

/** Client-side navigation over the History API; the server answers index.html for these paths. */

const listeners = new Set<() => void>();
function notify() {
  for (const fn of listeners) fn();
}
if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

export function navigate(url: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  notify();
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((t) => t + 1);
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** Updates the query string of the current page (replacing the history entry unless `push`). */
export function setParams(update: (p: URLSearchParams) => void, push = false): void {
  const p = new URLSearchParams(location.search);
  update(p);
  const qs = p.toString();
  navigate(`${location.pathname}${qs ? `?${qs}` : ''}`, { replace: !push });
}

/** Intercepts same-origin link clicks so they navigate without a reload. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href?.startsWith('/') || href.startsWith('/api/') || href.startsWith('/docs')) return;
  e.preventDefault();
  navigate(href);
}
