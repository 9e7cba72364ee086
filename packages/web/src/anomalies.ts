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
  /** The band the value was judged against (in the full API answer; the markers do not read them). */
  lower?: number | null;
  upper?: number | null;
  /** Group values of a series named by API. */
  group?: Record<string, string>;
  detectedAtMs?: number;
  explanation?: AnomalyExplanation;
}

/** Why the ensemble called it an anomaly (the API's `explanation`). */
export interface AnomalyExplanation {
  deviation: number | null;
  deviationBands: number | null;
  fired: { detector: string; score: number }[];
  sinceMs: number | null;
  changeStartMs: number | null;
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

/** A metric's value formatted for people (key series' metrics and those of series named by API). */
export function formatMetric(metric: string, v: number | null): string {
  if (metric.endsWith('Usd')) return formatUsd(v);
  if (metric.endsWith('Rate')) return formatPercent(v);
  if (metric.endsWith('Ms')) return formatDurationMs(v);
  return formatCount(v);
}

/** The detectors of the ensemble as people read them. */
export const DETECTOR_LABELS: Record<string, string> = {
  ewma: 'EWMA z-score',
  mad: 'median/MAD',
  seasonal: 'seasonal baseline',
  cusum: 'CUSUM change point',
  context: 'contextual',
};

/** Which detectors fired, strongest first: `median/MAD 1.00, EWMA z-score 0.97`, or `none`. */
export function firedText(e: AnomalyExplanation | undefined): string {
  const fired = e?.fired ?? [];
  if (fired.length === 0) return 'none';
  return fired.map((f) => `${DETECTOR_LABELS[f.detector] ?? f.detector} ${f.score.toFixed(2)}`).join(', ');
}

/** `+0.0512 (+8.3 bands)`: how far the value is from the expected one. */
export function deviationText(a: Anomaly): string {
  const d = a.explanation?.deviation ?? (a.expected === null ? null : a.value - a.expected);
  if (d === null) return '—';
  const sign = d > 0 ? '+' : d < 0 ? '−' : '';
  const bands = a.explanation?.deviationBands;
  const b = bands === null || bands === undefined ? '' : ` (${bands > 0 ? '+' : ''}${bands.toFixed(1)} bands)`;
  return `${sign}${formatMetric(a.metric, Math.abs(d))}${b}`;
}

/** Where an anomaly is: `Cost · prj_a / gpt-4o`, or a user series' name and group. */
export function anomalyTitle(a: Anomaly): string {
  const metric = METRIC_LABELS[a.metric] ?? a.metric;
  const isKey = a.series === `${a.metric}|${a.projectId}|${a.model}`;
  const where = isKey
    ? [a.projectId, a.model].filter((x) => x !== '').join(' / ')
    : [a.series, ...Object.entries(a.group ?? {}).map(([k, v]) => `${k}=${v || '(none)'}`)].join(' · ');
  return where ? `${metric} · ${where}` : metric;
}

/**
 * Query parameters for the anomalies page's list: the window, the metric and series, and the
 * project and model when one of each is picked (several are filtered by `keepAnomaly`).
 */
export function anomalyListParams(
  window: { fromMs: number; toMs: number },
  filters: Filters,
  metric: string,
  series: string,
): URLSearchParams {
  const p = new URLSearchParams({
    fromMs: String(Math.floor(window.fromMs)),
    toMs: String(Math.ceil(window.toMs)),
    limit: '1000',
  });
  if (filters.project?.length === 1) p.set('projectId', filters.project[0]!);
  if (filters.model?.length === 1) p.set('model', filters.model[0]!);
  if (metric) p.set('metric', metric);
  if (series) p.set('series', series);
  return p;
}

/** The project and model filters, applied to an anomaly (several values of one: any of them). */
export function keepAnomaly(a: Anomaly, filters: Filters): boolean {
  return (
    (!filters.project || filters.project.includes(a.projectId)) && (!filters.model || filters.model.includes(a.model))
  );
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
