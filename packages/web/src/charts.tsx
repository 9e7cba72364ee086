import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartMarker } from './anomalies.js';

/** Series colours: distinguishable, and each meets 3:1 against both backgrounds. */
export const PALETTE = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#db2777',
  '#7c3aed',
  '#0891b2',
  '#dc2626',
  '#65a30d',
  '#9333ea',
  '#64748b',
];

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/**
 * A uPlot plugin drawing each marker as a vertical line with a small triangle on top (anomalies);
 * their text is in the list the page shows with the chart (AnomalyList).
 */
function markerPlugin(markers: readonly ChartMarker[] | undefined): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          if (!markers || markers.length === 0) return;
          const ctx = u.ctx;
          const color = cssVar('--bad', '#b91c1c');
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.strokeStyle = color;
          ctx.fillStyle = color;
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          const size = 4 * devicePixelRatio;
          for (const m of markers) {
            const x = Math.round(u.valToPos(m.atMs / 1000, 'x', true));
            if (x < left || x > left + width) continue;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.beginPath();
            ctx.moveTo(x - size, top);
            ctx.lineTo(x + size, top);
            ctx.lineTo(x, top + size * 1.5);
            ctx.closePath();
            ctx.fill();
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** A small line with no axes; `label` describes it for screen readers. */
export function Sparkline(props: {
  values: Array<number | null>;
  xs: number[];
  label: string;
  color?: string;
  markers?: readonly ChartMarker[];
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || props.xs.length < 2) return;
    const plot = new uPlot(
      {
        width: el.clientWidth || 160,
        height: 36,
        cursor: { show: false },
        legend: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: { auto: true } },
        plugins: [markerPlugin(props.markers)],
        series: [
          {},
          {
            stroke: props.color ?? cssVar('--accent', '#2563eb'),
            width: 1.5,
            fill: 'transparent',
            points: { show: false },
          },
        ],
      },
      [props.xs, props.values] as uPlot.AlignedData,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth || 160, height: 36 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.xs, props.values, props.color, props.markers]);
  const n = props.markers?.length ?? 0;
  const label = n > 0 ? `${props.label}, ${n} anomal${n === 1 ? 'y' : 'ies'} marked` : props.label;
  return <div class="spark" ref={ref} role="img" aria-label={label} />;
}

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  color?: string;
  dash?: boolean;
}

/**
 * A time-series chart. `stacked` draws each series on top of the previous ones (areas); the
 * legend and the tooltip show each series' own value, formatted with `format`.
 */
export function TimeChart(props: {
  xs: number[];
  series: ChartSeries[];
  stacked?: boolean;
  height?: number;
  format: (v: number | null) => string;
  label: string;
  overlay?: ChartSeries[];
  /** Vertical marks (anomalies) at these times. */
  markers?: readonly ChartMarker[];
}) {
  const ref = useRef<HTMLDivElement>(null);
  const theme = document.documentElement.dataset.theme ?? '';
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const axisColor = cssVar('--muted', '#555');
    const gridColor = cssVar('--grid', '#e5e7eb');
    const own = props.series.map((s) => s.values);
    let drawn = own;
    if (props.stacked) {
      const acc = props.xs.map(() => 0);
      drawn = own.map((vals) => vals.map((v, i) => (acc[i] = (acc[i] ?? 0) + (v ?? 0))));
    }
    // Stacked areas are drawn top series first so each lower area paints over the one above.
    const order = props.stacked ? [...props.series.keys()].reverse() : [...props.series.keys()];
    const overlay = props.overlay ?? [];
    const data = [props.xs, ...order.map((i) => drawn[i]!), ...overlay.map((o) => o.values)] as uPlot.AlignedData;
    const series: uPlot.Series[] = [
      {},
      ...order.map((i) => {
        const s = props.series[i]!;
        const color = s.color ?? PALETTE[i % PALETTE.length]!;
        return {
          label: s.label,
          stroke: color,
          width: 1.5,
          fill: props.stacked ? `${color}bb` : undefined,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) =>
            idx === null ? '' : props.format(own[i]![idx] ?? null),
        } satisfies uPlot.Series;
      }),
      ...overlay.map((o, k) => ({
        label: o.label,
        stroke: o.color ?? cssVar('--fg', '#111'),
        width: 2,
        dash: o.dash ? [6, 4] : undefined,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => props.format(v),
        scale: 'y',
        _k: k,
      })),
    ];
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: props.height ?? 260,
        series,
        scales: {
          x: { time: true },
          y: { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
        },
        axes: [
          { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
          {
            stroke: axisColor,
            grid: { stroke: gridColor, width: 1 },
            ticks: { stroke: gridColor },
            size: 70,
            values: (_u, vals) => vals.map((v) => props.format(v)),
          },
        ],
        legend: { live: true },
        plugins: [markerPlugin(props.markers)],
      },
      data,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth || 600, height: props.height ?? 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.xs, props.series, props.stacked, props.overlay, props.markers, theme]);
  return (
    <figure class="chart" aria-label={props.label}>
      <div ref={ref} />
    </figure>
  );
}

/**
 * One series around an anomaly: its values, the expected value and band the anomaly was judged
 * against (drawn across the window as a shaded band, the expected value dashed), and the
 * anomalous point itself, marked.
 */
export function AnomalyChart(props: {
  xs: number[];
  values: Array<number | null>;
  atMs: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  format: (v: number | null) => string;
  label: string;
  height?: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const theme = document.documentElement.dataset.theme ?? '';
  useEffect(() => {
    const el = ref.current;
    if (!el || props.xs.length === 0) return;
    const axisColor = cssVar('--muted', '#555');
    const gridColor = cssVar('--grid', '#e5e7eb');
    const accent = cssVar('--accent', '#2563eb');
    const bad = cssVar('--bad', '#b91c1c');
    const fg = cssVar('--fg', '#111');
    const at = props.atMs / 1000;
    const flat = (v: number | null) => props.xs.map(() => v);
    const point = props.xs.map((x, i) => (x === at ? (props.values[i] ?? null) : null));
    const hasBand = props.lower !== null && props.upper !== null;
    const fmtValue = (_u: uPlot, v: number | null) => props.format(v);
    const series: uPlot.Series[] = [
      {},
      { label: 'Value', stroke: accent, width: 1.5, points: { show: false }, value: fmtValue },
      { label: 'Expected', stroke: fg, width: 1, dash: [6, 4], points: { show: false }, value: fmtValue },
      { label: 'Band low', stroke: `${accent}66`, width: 1, points: { show: false }, value: fmtValue },
      { label: 'Band high', stroke: `${accent}66`, width: 1, points: { show: false }, value: fmtValue },
      {
        label: 'Anomaly',
        stroke: bad,
        fill: bad,
        width: 0,
        points: { show: true, size: 10, stroke: bad, fill: bad },
        value: fmtValue,
      },
    ];
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: props.height ?? 200,
        series,
        bands: hasBand ? [{ series: [4, 3], fill: `${accent}22` }] : [],
        scales: {
          x: { time: true },
          y: { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
        },
        axes: [
          { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, space: 80 },
          {
            stroke: axisColor,
            grid: { stroke: gridColor, width: 1 },
            ticks: { stroke: gridColor },
            size: 70,
            values: (_u, vals) => vals.map((v) => props.format(v)),
          },
        ],
        legend: { live: true },
        plugins: [markerPlugin([{ atMs: props.atMs, id: 'at', metric: '', label: '' }])],
      },
      [props.xs, props.values, flat(props.expected), flat(props.lower), flat(props.upper), point] as uPlot.AlignedData,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth || 600, height: props.height ?? 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.xs, props.values, props.atMs, props.expected, props.lower, props.upper, theme]);
  return (
    <figure class="chart" aria-label={props.label}>
      <div ref={ref} />
    </figure>
  );
}

/**
 * History and forecast of one series: the observed steps, the forecast from the current step on
 * and its prediction interval as a band, with a dashed line at a threshold when one is given.
 */
export function ForecastChart(props: {
  history: { t: number; v: number }[];
  points: { t: number; v: number; lo: number; hi: number }[];
  format: (v: number | null) => string;
  label: string;
  threshold?: number | null;
  height?: number;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const theme = document.documentElement.dataset.theme ?? '';
  useEffect(() => {
    const el = ref.current;
    if (!el || props.history.length + props.points.length === 0) return;
    const axisColor = cssVar('--muted', '#555');
    const gridColor = cssVar('--grid', '#e5e7eb');
    const accent = cssVar('--accent', '#2563eb');
    const fg = cssVar('--fg', '#111');
    const bad = cssVar('--bad', '#b91c1c');
    const ts = [...new Set([...props.history.map((p) => p.t), ...props.points.map((p) => p.t)])].sort((a, b) => a - b);
    const hist = new Map(props.history.map((p) => [p.t, p.v]));
    const fc = new Map(props.points.map((p) => [p.t, p]));
    const fmtValue = (_u: uPlot, v: number | null) => props.format(v);
    const threshold = props.threshold ?? null;
    const series: uPlot.Series[] = [
      {},
      { label: 'Observed', stroke: accent, width: 1.5, points: { show: false }, value: fmtValue },
      { label: 'Forecast', stroke: fg, width: 1.5, dash: [6, 4], points: { show: false }, value: fmtValue },
      { label: 'Low', stroke: `${accent}66`, width: 1, points: { show: false }, value: fmtValue },
      { label: 'High', stroke: `${accent}66`, width: 1, points: { show: false }, value: fmtValue },
      ...(threshold !== null
        ? [{ label: 'Threshold', stroke: bad, width: 1, dash: [2, 3], points: { show: false }, value: fmtValue }]
        : []),
    ];
    const data = [
      ts.map((t) => t / 1000),
      ts.map((t) => hist.get(t) ?? null),
      ts.map((t) => fc.get(t)?.v ?? null),
      ts.map((t) => fc.get(t)?.lo ?? null),
      ts.map((t) => fc.get(t)?.hi ?? null),
      ...(threshold !== null ? [ts.map(() => threshold)] : []),
    ];
    const plot = new uPlot(
      {
        width: el.clientWidth || 600,
        height: props.height ?? 220,
        series,
        bands: [{ series: [4, 3], fill: `${accent}22` }],
        scales: {
          x: { time: true },
          y: { auto: true, range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
        },
        axes: [
          { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor }, space: 80 },
          {
            stroke: axisColor,
            grid: { stroke: gridColor, width: 1 },
            ticks: { stroke: gridColor },
            size: 70,
            values: (_u, vals) => vals.map((v) => props.format(v)),
          },
        ],
        legend: { live: true },
      },
      data as uPlot.AlignedData,
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: el.clientWidth || 600, height: props.height ?? 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [props.history, props.points, props.threshold, theme]);
  return (
    <figure class="chart" aria-label={props.label}>
      <div ref={ref} />
    </figure>
  );
}
