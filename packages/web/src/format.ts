/** Numbers for people: currency, counts, durations, percentages, times. Pure, locale `en-US`. */

const usdBig = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `$1,234.57`; small amounts keep significant digits (`$0.0042`); null (unknown) is `—`. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0.00';
  const abs = Math.abs(usd);
  if (abs >= 0.995) return usdBig.format(usd);
  if (abs >= 0.01) return `${usd < 0 ? '-' : ''}$${abs.toFixed(2)}`;
  const digits = Math.min(8, Math.max(2, 1 - Math.floor(Math.log10(abs)) + 1));
  return `${usd < 0 ? '-' : ''}$${abs.toFixed(digits).replace(/0+$/, '')}`;
}

/** `1,234`, `12.3K`, `4.5M` (compact above 10,000 when `compact`). */
export function formatCount(n: number | null | undefined, compact = false): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (!compact || abs < 10_000) return intFmt.format(n);
  for (const [unit, div] of [
    ['B', 1e9],
    ['M', 1e6],
    ['K', 1e3],
  ] as const) {
    if (abs >= div) {
      const v = n / div;
      return `${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '')}${unit}`;
    }
  }
  return intFmt.format(n);
}

/** `850 ms`, `1.24 s`, `2 min 5 s`, `3 h 10 min`. */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s === 0 ? `${m} min` : `${m} min ${s} s`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A ratio 0..1 as `2.4%` (`0.05%` below 0.1%). */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (Math.abs(p) < 0.1) return `${p.toFixed(2)}%`;
  if (Math.abs(p) < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

/**
 * Change from `previous` to `current` as a signed percentage (`+12%`, `-3.4%`), `new` when
 * there was nothing before, `—` when either is unknown.
 */
export function formatChange(current: number | null | undefined, previous: number | null | undefined): string {
  if (current === null || current === undefined || previous === null || previous === undefined) return '—';
  if (previous === 0) return current === 0 ? '0%' : 'new';
  const r = (current - previous) / Math.abs(previous);
  const s = formatPercent(Math.abs(r));
  return r > 0 ? `+${s}` : r < 0 ? `-${s}` : '0%';
}

/** Relative change (current - previous) / previous, null when undefined. */
export function changeRatio(current: number | null | undefined, previous: number | null | undefined): number | null {
  if (current == null || previous == null || previous === 0) return null;
  return (current - previous) / Math.abs(previous);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local date and time `2026-11-22 14:05:09` (seconds optional). */
export function formatTime(ms: number, seconds = true): string {
  const d = new Date(ms);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  return `${day} ${time}`;
}

/** `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`. */
export function formatAgo(ms: number, nowMs: number): string {
  const d = Math.max(0, nowMs - ms);
  if (d < 60_000) return `${Math.round(d / 1000)} s ago`;
  if (d < 3_600_000) return `${Math.round(d / 60_000)} min ago`;
  if (d < 86_400_000) return `${Math.round(d / 3_600_000)} h ago`;
  return `${Math.round(d / 86_400_000)} d ago`;
}
