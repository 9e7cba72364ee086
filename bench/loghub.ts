/**
 * Loghub accuracy metrics, computed as the published evaluators do.
 *
 * - GA (logparser's evaluator, ICSE'19 labels): rows aligned by position; a parsed group counts
 *   when all its messages share one ground-truth event and that ground-truth event has exactly
 *   the same number of messages; GA = messages in such groups / N.
 * - loghub-2.0 (corrected labels): GA and FGA group both sides by template (FGA = F1 of the share
 *   of correct parsed groups and the share of correctly found ground-truth groups); PA = share of
 *   messages whose template equals the ground-truth template exactly.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../packages/server/src/logs/csv.js';

export { parseCsv };

export interface LabelledLog {
  content: string[];
  eventId: string[];
  template: string[];
}

export function readStructured(path: string): LabelledLog {
  const rows = parseCsv(readFileSync(path, 'utf8'));
  const header = rows[0] as string[];
  const ci = header.indexOf('Content');
  const ei = header.indexOf('EventId');
  const ti = header.indexOf('EventTemplate');
  if (ci < 0 || ti < 0) throw new Error(`${path}: no Content/EventTemplate column`);
  const body = rows.slice(1);
  return {
    content: body.map((r) => r[ci] ?? ''),
    eventId: body.map((r) => (ei >= 0 ? (r[ei] ?? '') : (r[ti] ?? ''))),
    template: body.map((r) => r[ti] ?? ''),
  };
}

function counts(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** GA and FGA: `truth` and `parsed` are group labels per row. */
export function groupingAccuracy(truth: string[], parsed: string[]): { ga: number; fga: number } {
  if (truth.length !== parsed.length) throw new Error('row counts differ');
  const parsedCounts = counts(parsed);
  const truthCounts = counts(truth);
  // For each ground-truth group: the parsed labels its rows carry.
  const byTruth = new Map<string, Map<string, number>>();
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as string;
    const m = byTruth.get(t) ?? new Map<string, number>();
    byTruth.set(t, m);
    m.set(parsed[i] as string, (m.get(parsed[i] as string) ?? 0) + 1);
  }
  let accurateEvents = 0;
  let accurateGroups = 0;
  for (const [t, m] of byTruth) {
    if (m.size !== 1) continue;
    const [p] = [...m.keys()] as [string];
    if (parsedCounts.get(p) === truthCounts.get(t)) {
      accurateEvents += truthCounts.get(t) as number;
      accurateGroups++;
    }
  }
  const ga = accurateEvents / truth.length;
  const pga = accurateGroups / parsedCounts.size;
  const rga = accurateGroups / truthCounts.size;
  const fga = pga + rga === 0 ? 0 : (2 * pga * rga) / (pga + rga);
  return { ga, fga };
}

/** PA: rows whose parsed template equals the ground-truth template. */
export function parsingAccuracy(truthTemplates: string[], parsedTemplates: string[]): number {
  let same = 0;
  for (let i = 0; i < truthTemplates.length; i++) if (truthTemplates[i] === parsedTemplates[i]) same++;
  return same / truthTemplates.length;
}
