/** `reskpoints budgets list|set|delete|events|status`: spend budgets, their status and crossings. */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DASH, formatPercent, renderTable, truncate } from './format.js';
import { type CliIo, println } from './io.js';
import { adminCall, type KeysOptions } from './keys.js';

interface ThresholdDto {
  id: string;
  kind: 'percent' | 'absolute' | 'forecast' | 'burn-rate';
  percent?: number;
  usd?: number;
  withinDays?: number;
  window?: string;
  shortWindow?: string;
  rate?: number;
  action?: { kind: 'block' | 'throttle'; metric?: string; limit?: number; window?: string };
}

interface StatusDto {
  evaluatedAtMs: number;
  state: 'active' | 'not-started' | 'disabled';
  periodStartMs: number | null;
  periodEndMs: number | null;
  spendUsd: number;
  amountUsd: number;
  percentUsed: number;
  unpricedCalls: number;
  evenRateUsdPerHour: number;
  forecast: {
    projectedUsd: number;
    loUsd: number;
    hiUsd: number;
    crossesAtMs: number | null;
    model: string;
    step: 'day' | 'hour';
  } | null;
  burnRates: { windowMs: number; spendUsd: number; rate: number }[];
  thresholds: { id: string; kind: string; targetUsd: number | null; active: boolean; crossedAtMs: number | null }[];
}

interface BudgetDto {
  id: string;
  name: string;
  scope: Record<string, string[]>;
  period: { kind: string; start?: string; length?: string };
  timeZone: string;
  amountUsd: number;
  thresholds: ThresholdDto[];
  enabled: boolean;
}

interface EventDto {
  id: string;
  thresholdId: string;
  kind: string;
  atMs: number;
  periodStartMs: number;
  spendUsd: number;
  message: string;
  action?: { kind: string; quotaId: string; untilMs: number };
}

/** Dollars to the cent: budgets speak in whole amounts. */
const formatUsd = (n: number) =>
  `${n < 0 ? '-' : ''}$${Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

const scopeText = (scope: Record<string, string[]>) =>
  Object.entries(scope)
    .map(([k, v]) => `${k}=${v.join('|')}`)
    .join(',') || 'everything';

const periodText = (b: BudgetDto) =>
  b.period.kind === 'custom' ? `${b.period.length} from ${b.period.start}` : b.period.kind;

/** A local time in the budget's zone, to the minute. */
function localTime(ms: number, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}`;
}

function windowText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

export function thresholdText(t: ThresholdDto): string {
  let s: string;
  if (t.kind === 'percent') s = `${t.percent}%`;
  else if (t.kind === 'absolute') s = formatUsd(t.usd ?? 0);
  else if (t.kind === 'forecast') s = `forecast ${t.percent}%${t.withinDays ? ` within ${t.withinDays}d` : ''}`;
  else s = `burn ${t.rate}× over ${t.window}${t.shortWindow ? `/${t.shortWindow}` : ''}`;
  if (t.action)
    s += t.action.kind === 'block' ? ' → block' : ` → throttle ${t.action.limit} ${t.action.metric}/${t.action.window}`;
  return s;
}

const bar = (ratio: number, width = 20) => {
  const n = Math.max(0, Math.min(width, Math.round(ratio * width)));
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
};

export function formatBudgetList(budgets: readonly (BudgetDto & { status: StatusDto | null })[]): string {
  if (budgets.length === 0) return 'No budgets. Create one with `reskpoints budgets set`.';
  return renderTable(
    [
      { header: 'id' },
      { header: 'period' },
      { header: 'scope' },
      { header: 'amount', align: 'right' },
      { header: 'spent', align: 'right' },
      { header: 'used', align: 'right' },
      { header: 'projected', align: 'right' },
      { header: 'crossed' },
    ],
    budgets.map((b) => {
      const s = b.status;
      const crossed = s?.thresholds.filter((t) => t.crossedAtMs !== null).map((t) => t.id) ?? [];
      return [
        b.id,
        `${periodText(b)} ${b.timeZone}`,
        truncate(scopeText(b.scope), 40),
        formatUsd(b.amountUsd),
        s?.state === 'active' ? formatUsd(s.spendUsd) : (s?.state ?? 'pending'),
        s?.state === 'active' ? formatPercent(s.percentUsed / 100) : DASH,
        s?.forecast ? formatUsd(s.forecast.projectedUsd) : DASH,
        crossed.length ? truncate(crossed.join(', '), 40) : DASH,
      ];
    }),
  );
}

export function formatBudgetStatus(v: { budget: BudgetDto; status: StatusDto | null; events: EventDto[] }): string {
  const { budget: b, status: s } = v;
  const lines = [
    `Budget ${b.id}${b.name !== b.id ? ` (${b.name})` : ''}: ${formatUsd(b.amountUsd)} ${periodText(b)} in ${b.timeZone}, scope ${scopeText(b.scope)}${b.enabled ? '' : ', disabled'}`,
  ];
  if (!s) {
    lines.push('Not evaluated yet (the leader evaluates budgets every few seconds).');
    return lines.join('\n');
  }
  if (s.state !== 'active' || s.periodStartMs === null || s.periodEndMs === null) {
    lines.push(s.state === 'disabled' ? 'Disabled.' : 'Its first period has not started yet.');
    return lines.join('\n');
  }
  const rows: string[][] = [
    ['period', `${localTime(s.periodStartMs, b.timeZone)} → ${localTime(s.periodEndMs, b.timeZone)}`],
    [
      'spent',
      `${formatUsd(s.spendUsd)} of ${formatUsd(s.amountUsd)}  ${formatPercent(s.percentUsed / 100)}  ${bar(s.percentUsed / 100)}${s.unpricedCalls ? `  (${s.unpricedCalls} unpriced calls not counted)` : ''}`,
    ],
  ];
  if (s.forecast)
    rows.push([
      'forecast',
      `${formatUsd(s.forecast.projectedUsd)} at period end (90%: ${formatUsd(s.forecast.loUsd)}–${formatUsd(s.forecast.hiUsd)}, ${s.forecast.model})${s.forecast.crossesAtMs !== null ? `; reaches the amount ${localTime(s.forecast.crossesAtMs, b.timeZone)}` : ''}`,
    ]);
  rows.push([
    'burn rate',
    `${s.burnRates.map((r) => `${windowText(r.windowMs)} ${r.rate.toFixed(1)}×`).join('  ')}  (even rate ${formatUsd(s.evenRateUsdPerHour)}/h)`,
  ]);
  lines.push(
    renderTable([{ header: '' }, { header: '' }], rows)
      .split('\n')
      .slice(1)
      .join('\n'),
  );
  lines.push('');
  lines.push(
    renderTable(
      [
        { header: 'threshold' },
        { header: 'rule' },
        { header: 'target', align: 'right' },
        { header: 'holds' },
        { header: 'crossed' },
      ],
      b.thresholds.map((t) => {
        const ts = s.thresholds.find((x) => x.id === t.id);
        return [
          t.id,
          thresholdText(t),
          ts?.targetUsd != null ? formatUsd(ts.targetUsd) : DASH,
          ts?.active ? 'yes' : 'no',
          ts?.crossedAtMs != null ? localTime(ts.crossedAtMs, b.timeZone) : DASH,
        ];
      }),
    ),
  );
  lines.push(`Evaluated ${localTime(s.evaluatedAtMs, b.timeZone)} (${b.timeZone}).`);
  return lines.join('\n');
}

export function formatBudgetEvents(events: readonly EventDto[], timeZone = 'UTC'): string {
  if (events.length === 0) return 'No threshold crossed.';
  return renderTable(
    [{ header: 'at' }, { header: 'threshold' }, { header: 'spent', align: 'right' }, { header: 'what' }],
    events.map((e) => [
      localTime(e.atMs, timeZone),
      e.thresholdId,
      formatUsd(e.spendUsd),
      `${e.message}${e.action ? ` → ${e.action.kind} (quota ${e.action.quotaId})` : ''}`,
    ]),
  );
}

export function runBudgetsList(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ budgets: (BudgetDto & { status: StatusDto | null })[] }>(
    o,
    io,
    { method: 'GET', path: '/api/v1/budgets' },
    ({ budgets }) => println(io.stdout, formatBudgetList(budgets)),
  );
}

export function runBudgetsStatus(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ budget: BudgetDto; status: StatusDto | null; events: EventDto[] }>(
    o,
    io,
    { method: 'GET', path: `/api/v1/budgets/${encodeURIComponent(id)}` },
    (v) => {
      println(io.stdout, formatBudgetStatus(v));
      if (v.events.length) {
        println(io.stdout);
        println(io.stdout, formatBudgetEvents(v.events.slice(0, 5), v.budget.timeZone));
      }
    },
  );
}

export function runBudgetsEvents(
  id: string,
  o: KeysOptions & { limit?: string; current?: boolean },
  io: CliIo,
): Promise<number> {
  return adminCall<{ events: EventDto[] }>(
    o,
    io,
    async () => {
      const limit = o.limit === undefined ? 100 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return [`--limit: expected a whole number from 1 to 1000, got ${JSON.stringify(o.limit)}`];
      return {
        method: 'GET',
        path: `/api/v1/budgets/${encodeURIComponent(id)}/events?limit=${limit}&period=${o.current ? 'current' : 'all'}`,
      };
    },
    ({ events }) => println(io.stdout, formatBudgetEvents(events)),
  );
}

export function runBudgetsDelete(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<null>(o, io, { method: 'DELETE', path: `/api/v1/budgets/${encodeURIComponent(id)}` }, () =>
    println(io.stdout, `Deleted budget ${id}`),
  );
}

export interface BudgetSetOptions extends KeysOptions {
  file?: string;
  name?: string;
  amount?: string;
  period?: string;
  start?: string;
  length?: string;
  tz?: string;
  project?: string[];
  environment?: string[];
  model?: string[];
  provider?: string[];
  user?: string[];
  tag?: string[];
  threshold?: string[];
  disabled?: boolean;
}

const THRESHOLD_FORMS =
  '50%, $200, forecast[:90%][:7d], burn:<window>[/<short window>]:<rate>, each optionally followed by @block or @throttle:<requests|tokens|costUsd>:<limit>/<window>';

/** One `--threshold` value as the API's threshold object; a string naming the problem when bad. */
export function parseThreshold(spec: string): Record<string, unknown> | string {
  const [rule = '', action] = spec.split('@');
  const bad = `--threshold ${JSON.stringify(spec)}: expected ${THRESHOLD_FORMS}`;
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(rule);
  const absolute = /^\$(\d+(?:\.\d+)?)$/.exec(rule);
  const fc = /^forecast(?::(\d+(?:\.\d+)?)%)?(?::(\d+(?:\.\d+)?)d)?$/.exec(rule);
  const burn = /^burn:(\w+)(?:\/(\w+))?:(\d+(?:\.\d+)?)$/.exec(rule);
  let out: Record<string, unknown>;
  if (percent) out = { kind: 'percent', percent: Number(percent[1]) };
  else if (absolute) out = { kind: 'absolute', usd: Number(absolute[1]) };
  else if (fc)
    out = {
      kind: 'forecast',
      ...(fc[1] ? { percent: Number(fc[1]) } : {}),
      ...(fc[2] ? { withinDays: Number(fc[2]) } : {}),
    };
  else if (burn)
    out = { kind: 'burn-rate', window: burn[1], ...(burn[2] ? { shortWindow: burn[2] } : {}), rate: Number(burn[3]) };
  else return bad;
  if (action !== undefined) {
    const throttle = /^throttle:(requests|tokens|costUsd):(\d+(?:\.\d+)?)\/(\w+)$/.exec(action);
    if (action === 'block') out['action'] = { kind: 'block' };
    else if (throttle)
      out['action'] = { kind: 'throttle', metric: throttle[1], limit: Number(throttle[2]), window: throttle[3] };
    else return bad;
  }
  return out;
}

/** The PUT body of `budgets set`, from `--file` (YAML or JSON) and the options, every problem at once. */
export async function buildBudgetBody(
  o: BudgetSetOptions,
  cwd: string,
): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; problems: string[] }> {
  const problems: string[] = [];
  let body: Record<string, unknown> = {};
  if (o.file !== undefined) {
    try {
      const text = await readFile(isAbsolute(o.file) ? o.file : resolve(cwd, o.file), 'utf8');
      const parsed = parseYaml(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        problems.push(`--file ${o.file}: expected a mapping (a budget definition)`);
      else body = { ...(parsed as Record<string, unknown>) };
    } catch (e) {
      problems.push(`--file ${o.file}: ${(e as Error).message}`);
    }
  }
  if (o.name !== undefined) body['name'] = o.name;
  if (o.amount !== undefined) {
    const n = Number(o.amount.replace(/^\$/, ''));
    if (!Number.isFinite(n) || n <= 0)
      problems.push(`--amount: expected a positive number of USD, got ${JSON.stringify(o.amount)}`);
    else body['amountUsd'] = n;
  }
  if (o.period !== undefined) {
    if (o.period === 'custom') body['period'] = { kind: 'custom', start: o.start ?? '', length: o.length ?? '' };
    else body['period'] = o.period;
  } else if (o.start !== undefined || o.length !== undefined)
    problems.push('--start and --length go with --period custom');
  if (o.tz !== undefined) body['timeZone'] = o.tz;
  const scope = { ...((body['scope'] as Record<string, unknown> | undefined) ?? {}) };
  for (const d of ['project', 'environment', 'model', 'provider', 'user', 'tag'] as const) {
    const v = o[d];
    if (v?.length) scope[d] = v.length === 1 ? v[0] : v;
  }
  if (Object.keys(scope).length) body['scope'] = scope;
  if (o.threshold?.length) {
    const thresholds: unknown[] = [];
    for (const t of o.threshold) {
      const parsed = parseThreshold(t);
      if (typeof parsed === 'string') problems.push(parsed);
      else thresholds.push(parsed);
    }
    body['thresholds'] = thresholds;
  }
  if (o.disabled) body['enabled'] = false;
  if (body['amountUsd'] === undefined && !problems.some((p) => p.startsWith('--amount')))
    problems.push('--amount: required (or amountUsd in --file)');
  if (body['period'] === undefined)
    problems.push('--period: required (daily, weekly, monthly or custom), or period in --file');
  delete body['id'];
  return problems.length ? { ok: false, problems } : { ok: true, body };
}

export function runBudgetsSet(id: string, o: BudgetSetOptions, io: CliIo): Promise<number> {
  return adminCall<{ budget: BudgetDto; created: boolean }>(
    o,
    io,
    async () => {
      const built = await buildBudgetBody(o, io.cwd);
      if (!built.ok) return built.problems;
      return { method: 'PUT', path: `/api/v1/budgets/${encodeURIComponent(id)}`, body: built.body };
    },
    ({ budget, created }) => {
      println(
        io.stdout,
        `${created ? 'Created' : 'Replaced'} budget ${budget.id}: ${formatUsd(budget.amountUsd)} ${periodText(budget)} in ${budget.timeZone}, scope ${scopeText(budget.scope)}`,
      );
      println(io.stdout, `Thresholds: ${budget.thresholds.map((t) => `${t.id} (${thresholdText(t)})`).join(', ')}`);
    },
  );
}
