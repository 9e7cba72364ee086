/**
 * `reskpoints alerts list`, `silences list|create|expire`, `rules list|apply|delete`,
 * `receivers list` and `notifications list`: the alerting API from the terminal (admin token).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeApiFailure } from './api-client.js';
import { DASH, formatTime, renderTable, truncate } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { adminCall, adminClient, type KeysOptions } from './keys.js';
import { parseDurationMs, parseInstant } from './query.js';
import { formatDuration } from './quotas.js';

type Labels = Record<string, string>;

interface AlertDto {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  endsAtMs: number;
}

interface RuleDto {
  name: string;
  kind: string;
  origin: 'config' | 'file' | 'api';
  interval: number;
  for: number;
  state: 'inactive' | 'pending' | 'firing';
  series: { labels: Labels; status: 'pending' | 'firing'; value: number; activeAtMs: number }[];
}

interface SilenceDto {
  id: string;
  matchers: string[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  recurring: boolean;
  state: 'pending' | 'active' | 'expired';
}

const labelText = (labels: Labels, skip: readonly string[] = ['alertname']) =>
  Object.entries(labels)
    .filter(([k]) => !skip.includes(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || DASH;

const ALERT_STATES = ['firing', 'pending', 'resolved'] as const;

/** `alerts list`: alerts the pipeline holds (firing, resolved not yet notified) and pending rule series. */
export async function runAlertsList(o: KeysOptions & { state?: string[] }, io: CliIo): Promise<number> {
  const states = o.state ?? [];
  const bad = states.filter((s) => !(ALERT_STATES as readonly string[]).includes(s));
  if (bad.length) {
    println(io.stderr, `error: --state: expected firing, pending or resolved, got ${bad.join(', ')}`);
    return EXIT_USAGE;
  }
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const [alerts, rules] = await Promise.all([
    client.request<{ alerts: AlertDto[] }>({ method: 'GET', path: '/api/v1/alerts' }),
    client.request<{ rules: RuleDto[] }>({ method: 'GET', path: '/api/v1/alerts/rules' }),
  ]);
  for (const r of [alerts, rules])
    if (!r.ok) {
      println(io.stderr, `error: ${describeApiFailure(r.error)}`);
      return EXIT_FAILURE;
    }
  if (!alerts.ok || !rules.ok) return EXIT_FAILURE;
  const pending = rules.value.rules.flatMap((r) =>
    r.series
      .filter((s) => s.status === 'pending')
      .map((s) => ({ status: 'pending' as const, labels: s.labels, sinceMs: s.activeAtMs, value: s.value })),
  );
  const rows = [
    ...alerts.value.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      sinceMs: a.startsAtMs,
      summary: a.annotations.summary ?? a.annotations.description ?? '',
    })),
    ...pending.map((p) => ({ ...p, summary: `value ${Number(p.value.toPrecision(6))}` })),
  ].filter((r) => states.length === 0 || states.includes(r.status));
  if (o.json) {
    println(io.stdout, JSON.stringify({ alerts: alerts.value.alerts, pending }, null, 2));
    return EXIT_OK;
  }
  if (rows.length === 0) {
    println(io.stdout, 'No alerts.');
    return EXIT_OK;
  }
  const order = { firing: 0, pending: 1, resolved: 2 };
  rows.sort((a, b) => order[a.status] - order[b.status] || a.sinceMs - b.sinceMs);
  println(
    io.stdout,
    renderTable(
      [
        { header: 'state' },
        { header: 'alertname' },
        { header: 'labels' },
        { header: 'since (UTC)' },
        { header: 'summary' },
      ],
      rows.map((r) => [
        r.status,
        r.labels.alertname ?? DASH,
        truncate(labelText(r.labels), 60),
        formatTime(r.sinceMs),
        truncate(r.summary || DASH, 60),
      ]),
    ),
  );
  return EXIT_OK;
}

export function formatSilences(silences: readonly SilenceDto[]): string {
  if (silences.length === 0) return 'No silences.';
  return renderTable(
    [
      { header: 'id' },
      { header: 'state' },
      { header: 'matchers' },
      { header: 'starts (UTC)' },
      { header: 'ends (UTC)' },
      { header: 'recurring' },
      { header: 'by' },
      { header: 'comment' },
    ],
    silences.map((s) => [
      s.id,
      s.state,
      s.matchers.join(','),
      formatTime(s.startsAtMs),
      formatTime(s.endsAtMs),
      s.recurring ? 'yes' : 'no',
      s.createdBy,
      truncate(s.comment || DASH, 40),
    ]),
  );
}

export function runSilencesList(o: KeysOptions & { all?: boolean }, io: CliIo): Promise<number> {
  return adminCall<{ silences: SilenceDto[] }>(o, io, { method: 'GET', path: '/api/v1/alerts/silences' }, (r) =>
    println(io.stdout, formatSilences(r.silences.filter((s) => o.all || s.state !== 'expired'))),
  );
}

export interface SilenceCreateOptions extends KeysOptions {
  matcher?: string[];
  start?: string;
  end?: string;
  duration?: string;
  author?: string;
  comment?: string;
  times?: string[];
  weekdays?: string[];
  location?: string;
  quiet?: boolean;
}

/** The POST body of `silences create`, every bad option reported at once. */
export function buildSilenceBody(
  o: SilenceCreateOptions,
  nowMs: number,
  env: Record<string, string | undefined>,
): { ok: true; body: Record<string, unknown> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const matchers = o.matcher ?? [];
  if (matchers.length === 0) problems.push('--matcher: give at least one, e.g. --matcher \'alertname="HighCost"\'');
  const startsAtMs = o.start === undefined ? nowMs : parseInstant(o.start, nowMs);
  if (startsAtMs === null) problems.push(`--start: expected RFC 3339, epoch ms or now+DURATION, got "${o.start}"`);
  let endsAtMs: number | null = null;
  if (o.end !== undefined && o.duration !== undefined) problems.push('give --end or --duration, not both');
  else if (o.end !== undefined) {
    endsAtMs = parseInstant(o.end, nowMs);
    if (endsAtMs === null) problems.push(`--end: expected RFC 3339, epoch ms or now+DURATION, got "${o.end}"`);
  } else {
    const d = parseDurationMs(o.duration ?? '1h');
    if (d === null || d <= 0)
      problems.push(`--duration: expected a duration such as 30m, 2h or 1d, got "${o.duration}"`);
    else if (startsAtMs !== null) endsAtMs = startsAtMs + d;
  }
  const times: { start_time: string; end_time: string }[] = [];
  for (const t of o.times ?? []) {
    const m = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(t.trim());
    if (!m) problems.push(`--times: expected HH:MM-HH:MM, got "${t}"`);
    else times.push({ start_time: m[1] as string, end_time: m[2] as string });
  }
  if (problems.length) return { ok: false, problems };
  const recurring = times.length > 0 || (o.weekdays?.length ?? 0) > 0;
  if (!recurring && o.location !== undefined)
    return { ok: false, problems: ['--location needs --times or --weekdays'] };
  return {
    ok: true,
    body: {
      matchers,
      startsAtMs,
      endsAtMs,
      createdBy: o.author ?? env['USER'] ?? 'reskpoints-cli',
      comment: o.comment ?? '',
      ...(recurring
        ? {
            timeIntervals: [
              {
                ...(times.length ? { times } : {}),
                ...(o.weekdays?.length ? { weekdays: o.weekdays } : {}),
                ...(o.location ? { location: o.location } : {}),
              },
            ],
          }
        : {}),
    },
  };
}

export function runSilencesCreate(o: SilenceCreateOptions, io: CliIo): Promise<number> {
  return adminCall<{ silence: SilenceDto }>(
    o,
    io,
    async () => {
      const built = buildSilenceBody(o, io.clock.nowMs(), io.env);
      if (!built.ok) return built.problems;
      return { method: 'POST', path: '/api/v1/alerts/silences', body: built.body };
    },
    ({ silence }) => {
      if (o.quiet) return println(io.stdout, silence.id);
      println(io.stdout, `Created silence ${silence.id}`);
      println(io.stdout, formatSilences([silence]));
    },
  );
}

export function runSilencesExpire(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ silence: SilenceDto }>(
    o,
    io,
    { method: 'DELETE', path: `/api/v1/alerts/silences/${encodeURIComponent(id)}` },
    ({ silence }) => println(io.stdout, `Expired silence ${silence.id} at ${formatTime(silence.endsAtMs)} UTC`),
  );
}

export function formatRules(rules: readonly RuleDto[], problems: readonly string[]): string {
  const lines: string[] = [];
  if (rules.length === 0) lines.push('No rules. Add some to the rules file or with `reskpoints rules apply`.');
  else
    lines.push(
      renderTable(
        [
          { header: 'rule' },
          { header: 'kind' },
          { header: 'from' },
          { header: 'state' },
          { header: 'firing', align: 'right' },
          { header: 'pending', align: 'right' },
          { header: 'interval' },
          { header: 'for' },
        ],
        rules.map((r) => [
          r.name,
          r.kind,
          r.origin,
          r.state,
          String(r.series.filter((s) => s.status === 'firing').length),
          String(r.series.filter((s) => s.status === 'pending').length),
          formatDuration(r.interval),
          r.for ? formatDuration(r.for) : DASH,
        ]),
      ),
    );
  if (problems.length) {
    lines.push('', 'Problems (these rules are not in force):');
    for (const p of problems) lines.push(`  - ${p}`);
  }
  return lines.join('\n');
}

export function runRulesList(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ rules: RuleDto[]; problems: string[] }>(
    o,
    io,
    { method: 'GET', path: '/api/v1/alerts/rules' },
    (r) => println(io.stdout, formatRules(r.rules, r.problems)),
  );
}

/** Reads a rules file (`rules: [...]`, the rules file's shape, or a bare list) for `rules apply`. */
export function readRulesFile(
  path: string,
  cwd: string,
): { ok: true; rules: unknown[] } | { ok: false; problem: string } {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    return { ok: false, problem: `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { ok: false, problem: `${path}: not valid YAML: ${(e as Error).message}` };
  }
  if (Array.isArray(doc)) return { ok: true, rules: doc };
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (Array.isArray(rules)) return { ok: true, rules };
  return { ok: false, problem: `${path}: expected \`rules: [...]\` or a list of rules` };
}

export function runRulesApply(file: string, o: KeysOptions & { dryRun?: boolean }, io: CliIo): Promise<number> {
  return adminCall<{ dryRun: boolean; created: string[]; updated: string[]; unchanged: string[] }>(
    o,
    io,
    async () => {
      const read = readRulesFile(file, io.cwd);
      if (!read.ok) return [read.problem];
      return { method: 'POST', path: '/api/v1/alerts/rules/apply', body: { rules: read.rules, dryRun: !!o.dryRun } };
    },
    (r) => {
      const verb = r.dryRun ? 'would be ' : '';
      for (const [what, names] of [
        ['created', r.created],
        ['updated', r.updated],
        ['unchanged', r.unchanged],
      ] as const)
        if (names.length)
          println(io.stdout, `${names.length} ${what === 'unchanged' ? '' : verb}${what}: ${names.join(', ')}`);
      if (!r.created.length && !r.updated.length && !r.unchanged.length) println(io.stdout, 'No rules in the file.');
    },
  );
}

export function runRulesDelete(name: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ deleted: string }>(
    o,
    io,
    { method: 'DELETE', path: `/api/v1/alerts/rules/${encodeURIComponent(name)}` },
    () => println(io.stdout, `Deleted rule ${name}; its alerts resolve at the next evaluation`),
  );
}

interface ReceiverDto {
  name: string;
  sendResolved: boolean;
  channels: { type: string; host?: string }[];
}

export function runReceiversList(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ receivers: ReceiverDto[] }>(
    o,
    io,
    { method: 'GET', path: '/api/v1/alerts/receivers' },
    ({ receivers }) =>
      println(
        io.stdout,
        receivers.length === 0
          ? 'No receivers configured (alerting.receivers).'
          : renderTable(
              [{ header: 'receiver' }, { header: 'channels' }, { header: 'send resolved' }],
              receivers.map((r) => [
                r.name,
                r.channels.map((c) => (c.host ? `${c.type} (${c.host})` : c.type)).join(', ') || DASH,
                r.sendResolved ? 'yes' : 'no',
              ]),
            ),
      ),
  );
}

interface NotificationsDto {
  pending: {
    id: string;
    receiver: string;
    groupKey: string;
    status: string;
    createdAtMs: number;
    attempts: number;
    nextAttemptAtMs: number;
    lastError: string | null;
  }[];
  sent: {
    id: string;
    receiver: string;
    groupKey: string;
    status: string;
    alertCount: number;
    createdAtMs: number;
    finishedAtMs: number;
    outcome: string;
    attempts: number;
    detail: string | null;
  }[];
}

export function runNotificationsList(o: KeysOptions & { limit?: string }, io: CliIo): Promise<number> {
  return adminCall<NotificationsDto>(
    o,
    io,
    async () => {
      const limit = o.limit === undefined ? 100 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        return [`--limit: expected an integer 1..1000, got "${o.limit}"`];
      return { method: 'GET', path: '/api/v1/alerts/notifications', query: { limit: String(limit) } };
    },
    ({ pending, sent }) => {
      if (pending.length === 0 && sent.length === 0) {
        println(io.stdout, 'No notifications yet.');
        return;
      }
      const rows = [
        ...pending.map((p) => [
          formatTime(p.createdAtMs),
          p.lastError ? 'retrying' : 'queued',
          p.receiver,
          p.status,
          DASH,
          String(p.attempts),
          truncate(p.groupKey, 40),
          truncate(p.lastError ?? `next attempt ${formatTime(p.nextAttemptAtMs)}`, 50),
        ]),
        ...sent.map((s) => [
          formatTime(s.finishedAtMs),
          s.outcome,
          s.receiver,
          s.status,
          String(s.alertCount),
          String(s.attempts),
          truncate(s.groupKey, 40),
          truncate(s.detail ?? DASH, 50),
        ]),
      ];
      println(
        io.stdout,
        renderTable(
          [
            { header: 'at (UTC)' },
            { header: 'outcome' },
            { header: 'receiver' },
            { header: 'status' },
            { header: 'alerts', align: 'right' },
            { header: 'attempts', align: 'right' },
            { header: 'group' },
            { header: 'detail' },
          ],
          rows,
        ),
      );
    },
  );
}
