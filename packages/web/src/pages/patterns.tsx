import { RangePicker, Status, TableWrap } from '../components.js';
import { formatCount, formatTime } from '../format.js';
import { useApi, usePageReady, usePageState } from '../hooks.js';
import type { PageProps } from '../page-registry.js';
import { setParams } from '../router.js';
import { ParamInput } from './logs.js';

interface PatternStat {
  projectId: string;
  service: string | null;
  patternId: string | null;
  template: string | null;
  count: number;
  bytes: number;
  ratePerMinute: number;
  firstSeenMs: number;
  lastSeenMs: number;
  severities: Record<string, number>;
  examples: string[];
  isNew: boolean;
  rateChange: { zScore: number; lastBucketCount: number; baselineMean: number } | null;
}

const formatBytes = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)} MB`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)} kB`
        : `${n} B`;

/** Log patterns per service: volume, rate, severity mix, examples, new patterns and rate changes. */
export function Patterns(props: PageProps) {
  const { params, range, window } = usePageState(props.refresh);
  const service = params.get('service') ?? '';
  const project = params.get('project') ?? '';
  const show = params.get('show') ?? 'all';
  const query = new URLSearchParams({ from: String(window.fromMs), to: String(window.toMs) });
  if (service) query.set('service', service);
  if (project) query.set('project', project);
  const res = useApi<{ patterns: PatternStat[] }>('/api/v1/logs/patterns', query);
  usePageReady(!res.loading);
  const all = res.data?.patterns ?? [];
  const changed = (p: PatternStat) => Math.abs(p.rateChange?.zScore ?? 0) >= 3;
  const list = all.filter((p) => show === 'all' || (show === 'new' && p.isNew) || (show === 'changed' && changed(p)));
  const newCount = all.filter((p) => p.isNew).length;
  const changedCount = all.filter(changed).length;

  return (
    <>
      <div class="page-head">
        <h1>Log patterns</h1>
        <RangePicker range={range} onRefresh={props.onRefresh} />
      </div>
      <div class="toolbar">
        <ParamInput name="service" label="Service" value={service} />
        {props.isAdmin && <ParamInput name="project" label="Project" value={project} />}
        <label>
          <span class="label">Show</span>
          <select
            value={show}
            onChange={(e) =>
              setParams((p) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v === 'all') p.delete('show');
                else p.set('show', v);
              }, true)
            }
          >
            <option value="all">all patterns ({all.length})</option>
            <option value="new">new patterns ({newCount})</option>
            <option value="changed">rate changes ({changedCount})</option>
          </select>
        </label>
      </div>
      <Status loading={res.loading && !res.data} error={res.error} />
      {res.data && list.length === 0 && (
        <p class="muted" data-empty>
          No patterns in this range. Patterns are mined from every stored log line.
        </p>
      )}
      {list.length > 0 && (
        <TableWrap>
          <table data-patterns>
            <caption class="sr-only">Log patterns, busiest first</caption>
            <thead>
              <tr>
                <th scope="col">Pattern</th>
                <th scope="col">Service</th>
                <th scope="col" class="num">
                  Lines
                </th>
                <th scope="col" class="num">
                  Per minute
                </th>
                <th scope="col" class="num">
                  Bytes
                </th>
                <th scope="col">Severities</th>
                <th scope="col">Change</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={`${p.projectId}/${p.service}/${p.patternId}`} data-pattern-id={p.patternId ?? ''}>
                  <th scope="row" class="log-body">
                    <details>
                      <summary>
                        <code>{p.template ?? p.examples[0] ?? ''}</code>
                        {p.isNew && <span class="pill new">new</span>}
                      </summary>
                      <ul class="examples" aria-label="Examples">
                        {p.examples.map((e) => (
                          <li key={e}>
                            <code>{e}</code>
                          </li>
                        ))}
                      </ul>
                      {p.patternId && (
                        <a
                          href={`/logs?pattern=${encodeURIComponent(p.patternId)}${p.service ? `&service=${encodeURIComponent(p.service)}` : ''}`}
                        >
                          Lines of this pattern
                        </a>
                      )}
                    </details>
                  </th>
                  <td>{p.service ?? '—'}</td>
                  <td class="num">{formatCount(p.count)}</td>
                  <td class="num">{p.ratePerMinute.toFixed(2)}</td>
                  <td class="num">{formatBytes(p.bytes)}</td>
                  <td>
                    {Object.entries(p.severities)
                      .map(([k, v]) => `${k} ${formatCount(v)}`)
                      .join(' · ')}
                  </td>
                  <td>
                    {p.rateChange
                      ? `z ${p.rateChange.zScore.toFixed(1)} (${formatCount(p.rateChange.lastBucketCount)} vs ${p.rateChange.baselineMean.toFixed(1)})`
                      : '—'}
                  </td>
                  <td>{formatTime(p.lastSeenMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
