import { formatMinute, renderTable } from './format.js';
import { type CliIo, println } from './io.js';
import { adminCall, type KeysOptions } from './keys.js';

interface AnomalyDto {
  projectId: string;
  model: string;
  metric: string;
  bucketStartMs: number;
  value: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  score: number;
  explanation: { fired?: { detector: string }[] };
}

const num = (n: number | null): string => (n === null ? '—' : Number(n.toPrecision(4)).toString());

/** `reskpoints anomalies list`: anomalies found on the key series, newest first. */
export function runListAnomalies(
  o: KeysOptions & { project?: string; model?: string; metric?: string; series?: string; limit?: string },
  io: CliIo,
): Promise<number> {
  const query = new URLSearchParams();
  if (o.project) query.set('projectId', o.project);
  if (o.model) query.set('model', o.model);
  if (o.metric) query.set('metric', o.metric);
  if (o.series) query.set('series', o.series);
  if (o.limit) query.set('limit', o.limit);
  const qs = query.size ? `?${query}` : '';
  return adminCall<{ anomalies: AnomalyDto[] }>(
    o,
    io,
    { method: 'GET', path: `/api/v1/anomalies${qs}` },
    ({ anomalies }) => {
      if (anomalies.length === 0) {
        println(io.stdout, 'No anomalies found.');
        return;
      }
      println(
        io.stdout,
        renderTable(
          [
            { header: 'bucket (UTC)' },
            { header: 'project' },
            { header: 'model' },
            { header: 'metric' },
            { header: 'value', align: 'right' },
            { header: 'expected', align: 'right' },
            { header: 'band' },
            { header: 'score', align: 'right' },
            { header: 'fired' },
          ],
          anomalies.map((a) => [
            formatMinute(a.bucketStartMs),
            a.projectId,
            a.model,
            a.metric,
            num(a.value),
            num(a.expected),
            `${num(a.lower)}..${num(a.upper)}`,
            a.score.toFixed(2),
            (a.explanation.fired ?? []).map((f) => f.detector).join(','),
          ]),
        ),
      );
    },
  );
}
