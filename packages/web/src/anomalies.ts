/**
 * Anomaly markers for the charts, from `GET /api/v1/anomalies` (the detect module): which
 * anomalies belong on a chart of one metric over a window and filters, and their text.
 */
import { formatCount, formatDurationMs, formatPercent, formatUsd } from './format.js';
import type { Filters } from './url-state.js';

/** One anomaly as the API returns it (the fields the dashboard reads). */
export interface Anomaly {
  id: string;
  /** '' for a series over several projects. */
  projectId: string;
  /** '' when the series is not per model. */
  model: string;
  /** `costUsd`, `totalTokens`, `requests`, `errorRate`, `latencyP95Ms`, `ttftP95Ms`, or a user series' metric. */
  metric: string;
  series: string;
  bucketStartMs: number;
  value: number;
  expected: number | null;
  score: number;
}

/** The key series' metrics as people read them. */
export const METRIC_LABELS: Record<string, string> = {
  costUsd: 'Cost',
  totalTokens: 'Tokens',
  requests: 'Requests',
  errorRate: 'Error rate',
  latencyP95Ms: 'Latency p95',
  ttftP95Ms: 'Time to first token p95',
};

/** A metric's value formatted for people. */
export function formatMetric(metric: string, v: number | null): string {
  if (metric === 'costUsd') return formatUsd(v);
  if (metric === 'errorRate') return formatPercent(v);
  if (metric === 'latencyP95Ms' || metric === 'ttftP95Ms') return formatDurationMs(v);
  return formatCount(v);
}

export interface ChartMarker {
  /** Where the marker stands, epoch ms. */
  atMs: number;
  /** What it means, for the tooltip and the list under the chart. */
  label: string;
  id: string;
  metric: string;
}

/**
 * The anomalies of `metric` inside `window` that the filters allow, oldest first. A project or
 * model filter keeps anomalies of those projects or models (and of series not split by them);
 * other filters cannot be told from an anomaly and keep it.
 */
export function anomalyMarkers(
  anomalies: readonly Anomaly[],
  metric: string,
  window: { fromMs: number; toMs: number },
  filters: Filters,
  format: (v: number | null) => string = (v) => formatMetric(metric, v),
): ChartMarker[] {
  const projects = filters.project;
  const models = filters.model;
  return anomalies
    .filter(
      (a) =>
        a.metric === metric &&
        a.bucketStartMs >= window.fromMs &&
        a.bucketStartMs < window.toMs &&
        (!projects || a.projectId === '' || projects.includes(a.projectId)) &&
        (!models || a.model === '' || models.includes(a.model)),
    )
    .sort((a, b) => a.bucketStartMs - b.bucketStartMs || a.id.localeCompare(b.id))
    .map((a) => {
      const where = [a.projectId, a.model].filter((x) => x !== '').join(' / ') || a.series;
      return {
        atMs: a.bucketStartMs,
        id: a.id,
        metric: a.metric,
        label: `${where}: ${format(a.value)} against ${format(a.expected)} expected`,
      };
    });
}

/** Query parameters for `GET /api/v1/anomalies` covering a window (one project filter goes to the server). */
export function anomalyParams(window: { fromMs: number }, filters: Filters): URLSearchParams {
  const p = new URLSearchParams({ fromMs: String(Math.floor(window.fromMs)), limit: '1000' });
  if (filters.project?.length === 1) p.set('projectId', filters.project[0]!);
  return p;
}

/** Markers moved to the start of the chart bucket that holds them, where that bucket's point is drawn. */
export function snapMarkers(markers: readonly ChartMarker[], bucketMs: number): ChartMarker[] {
  return markers.map((m) => ({ ...m, atMs: Math.floor(m.atMs / bucketMs) * bucketMs }));
}
