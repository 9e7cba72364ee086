/**
 * `reskpoints prices list|show|set|import|history|resolve`: the price book of a running server.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { PriceEntry, PriceEntryInput } from '@reskpoints/core';
import { ApiClient, type ApiRequest, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { formatTime, renderTable } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';

export interface PricesOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
}

interface ListItem {
  entry: PriceEntry;
  readOnly: boolean;
  versions: number;
}

const path = (id: string) => `/api/v1/prices/${encodeURIComponent(id)}`;

async function call<T>(
  o: PricesOptions,
  io: CliIo,
  req: ApiRequest,
  render: (value: T) => void,
  prefer: 'any' | 'admin' = 'any',
): Promise<number> {
  const target = resolveClientTarget(o, io, prefer);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const r = await client.request<T>(req);
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) println(io.stdout, JSON.stringify(r.value, null, 2));
  else render(r.value);
  return EXIT_OK;
}

const usd = (v: number | null | undefined): string => (v == null ? '-' : `$${Number(v.toPrecision(6))}`);

function matchText(e: PriceEntry): string {
  const parts = e.match.map((m) =>
    m.kind === 'exact' ? m.value : m.kind === 'prefix' ? `${m.value}*` : `/${m.pattern}/`,
  );
  const text = parts.slice(0, 2).join(', ') + (parts.length > 2 ? ` (+${parts.length - 2})` : '');
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function entryRows(items: readonly ListItem[]): string {
  return renderTable(
    [
      { header: 'id' },
      { header: 'provider' },
      { header: 'model match' },
      { header: 'input/M', align: 'right' },
      { header: 'output/M', align: 'right' },
      { header: 'cache read/M', align: 'right' },
      { header: 'cache write/M', align: 'right' },
      { header: 'project' },
      { header: 'from (UTC)' },
      { header: 'origin' },
    ],
    items.map(({ entry: e }) => [
      e.id,
      e.provider,
      matchText(e),
      usd(e.rates.inputPerMtokUsd),
      usd(e.rates.outputPerMtokUsd),
      usd(e.rates.cacheReadPerMtokUsd),
      usd(e.rates.cacheWritePerMtokUsd),
      e.projectId ?? '(all)',
      e.effectiveFromMs === 0 ? '-' : formatTime(e.effectiveFromMs),
      e.origin,
    ]),
  );
}

export function runPricesList(
  o: PricesOptions & { provider?: string; model?: string; project?: string; origin?: string },
  io: CliIo,
): Promise<number> {
  return call<{ entries: ListItem[] }>(
    o,
    io,
    {
      method: 'GET',
      path: '/api/v1/prices',
      query: { provider: o.provider, model: o.model, project: o.project, origin: o.origin },
    },
    ({ entries }) => {
      if (entries.length === 0) println(io.stdout, 'No price entries match.');
      else println(io.stdout, entryRows(entries));
    },
  );
}

function describeEntry(io: CliIo, e: PriceEntry, extra: string[] = []): void {
  const r = e.rates;
  const lines = [
    `${e.id}  version ${e.version}  (${e.origin}${e.projectId ? `, project ${e.projectId}` : ''})`,
    `  provider      ${e.provider}`,
    `  model match   ${e.match.map((m) => (m.kind === 'regex' ? `regex ${m.pattern}` : `${m.kind} ${m.value}`)).join('; ')}`,
    `  effective     ${e.effectiveFromMs === 0 ? 'always' : `from ${formatTime(e.effectiveFromMs)} UTC`}`,
    `  per 1M tokens input ${usd(r.inputPerMtokUsd)}  output ${usd(r.outputPerMtokUsd)}  cache read ${usd(r.cacheReadPerMtokUsd)}  cache write ${usd(r.cacheWritePerMtokUsd)}  1h write ${usd(r.cacheWrite1hPerMtokUsd)}  reasoning ${usd(r.reasoningPerMtokUsd)}`,
    ...(r.requestUsd > 0 ? [`  per request   ${usd(r.requestUsd)}`] : []),
    ...e.contextTiers.map(
      (t) =>
        `  above ${t.aboveInputTokens} input tokens: input ${usd(t.rates.inputPerMtokUsd)}  output ${usd(t.rates.outputPerMtokUsd)}  cache read ${usd(t.rates.cacheReadPerMtokUsd)}`,
    ),
    ...Object.entries(e.serviceTiers).map(
      ([name, t]) => `  ${name} tier: input ${usd(t.rates.inputPerMtokUsd)}  output ${usd(t.rates.outputPerMtokUsd)}`,
    ),
    ...(e.description ? [`  ${e.description}`] : []),
    ...extra,
  ];
  println(io.stdout, lines.join('\n'));
}

export function runPricesShow(id: string, o: PricesOptions, io: CliIo): Promise<number> {
  return call<ListItem>(o, io, { method: 'GET', path: path(id) }, (item) =>
    describeEntry(io, item.entry, [
      `  ${item.versions} version(s)${item.readOnly ? '; read-only catalogue entry: override it with `reskpoints prices set`' : ''}`,
    ]),
  );
}

export function runPricesHistory(id: string, o: PricesOptions, io: CliIo): Promise<number> {
  return call<{
    versions: { entry: PriceEntry; deleted: boolean; createdAtMs: number | null; createdBy: string | null }[];
  }>(o, io, { method: 'GET', path: `${path(id)}/history` }, ({ versions }) =>
    println(
      io.stdout,
      renderTable(
        [
          { header: 'version' },
          { header: 'from (UTC)' },
          { header: 'input/M', align: 'right' },
          { header: 'output/M', align: 'right' },
          { header: 'cache read/M', align: 'right' },
          { header: 'written (UTC)' },
          { header: 'by' },
          { header: 'state' },
        ],
        versions.map((v) => [
          v.entry.version,
          v.entry.effectiveFromMs === 0 ? '-' : formatTime(v.entry.effectiveFromMs),
          usd(v.entry.rates.inputPerMtokUsd),
          usd(v.entry.rates.outputPerMtokUsd),
          usd(v.entry.rates.cacheReadPerMtokUsd),
          v.createdAtMs == null ? '-' : formatTime(v.createdAtMs),
          v.createdBy ?? '-',
          v.deleted ? 'deleted' : '',
        ]),
      ),
    ),
  );
}

export interface PricesSetOptions extends PricesOptions {
  provider?: string;
  model?: string;
  prefix?: string;
  regex?: string;
  project?: string;
  effectiveFrom?: string;
  input?: string;
  output?: string;
  cacheRead?: string;
  cacheWrite?: string;
  cacheWrite1h?: string;
  reasoning?: string;
  perRequest?: string;
  above?: string;
  aboveInput?: string;
  aboveOutput?: string;
  description?: string;
}

function number(v: string | undefined, flag: string, io: CliIo): number | undefined | null {
  if (v == null) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) {
    println(
      io.stderr,
      `error: ${flag} must be a non-negative number (USD per million tokens), got ${JSON.stringify(v)}`,
    );
    return null;
  }
  return n;
}

/** Creates the entry, or writes a new version of it when it exists. */
export async function runPricesSet(id: string, o: PricesSetOptions, io: CliIo): Promise<number> {
  const nums: Record<string, number | undefined> = {};
  for (const [key, flag] of [
    ['input', '--input'],
    ['output', '--output'],
    ['cacheRead', '--cache-read'],
    ['cacheWrite', '--cache-write'],
    ['cacheWrite1h', '--cache-write-1h'],
    ['reasoning', '--reasoning'],
    ['perRequest', '--per-request'],
    ['above', '--above'],
    ['aboveInput', '--above-input'],
    ['aboveOutput', '--above-output'],
  ] as const) {
    const n = number(o[key], flag, io);
    if (n === null) return EXIT_USAGE;
    nums[key] = n;
  }
  if (nums['input'] == null || nums['output'] == null) {
    println(io.stderr, 'error: --input and --output are required (USD per million tokens)');
    return EXIT_USAGE;
  }
  const match = [
    ...(o.model ? [{ kind: 'exact' as const, value: o.model }] : []),
    ...(o.prefix ? [{ kind: 'prefix' as const, value: o.prefix }] : []),
    ...(o.regex ? [{ kind: 'regex' as const, pattern: o.regex }] : []),
  ];
  if (match.length === 0) {
    println(io.stderr, 'error: give the models it prices: --model <name>, --prefix <start> or --regex <pattern>');
    return EXIT_USAGE;
  }
  const rates = {
    inputPerMtokUsd: nums['input'],
    outputPerMtokUsd: nums['output'],
    ...(nums['cacheRead'] != null ? { cacheReadPerMtokUsd: nums['cacheRead'] } : {}),
    ...(nums['cacheWrite'] != null ? { cacheWritePerMtokUsd: nums['cacheWrite'] } : {}),
    ...(nums['cacheWrite1h'] != null ? { cacheWrite1hPerMtokUsd: nums['cacheWrite1h'] } : {}),
    ...(nums['reasoning'] != null ? { reasoningPerMtokUsd: nums['reasoning'] } : {}),
    ...(nums['perRequest'] != null ? { requestUsd: nums['perRequest'] } : {}),
  };
  const body: PriceEntryInput = {
    id,
    provider: o.provider ?? '*',
    match,
    ...(o.project ? { projectId: o.project } : {}),
    ...(o.effectiveFrom ? { effectiveFrom: o.effectiveFrom } : {}),
    rates,
    ...(nums['above'] != null
      ? {
          contextTiers: [
            {
              aboveInputTokens: nums['above'],
              rates: {
                ...rates,
                inputPerMtokUsd: nums['aboveInput'] ?? rates.inputPerMtokUsd,
                outputPerMtokUsd: nums['aboveOutput'] ?? rates.outputPerMtokUsd,
              },
            },
          ],
        }
      : {}),
    ...(o.description ? { description: o.description } : {}),
  };
  const target = resolveClientTarget(o, io, 'admin');
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const existing = await client.request<ListItem>({ method: 'GET', path: path(id) });
  const exists = existing.ok && !existing.value.readOnly;
  if (existing.ok && existing.value.readOnly) {
    println(io.stderr, `error: ${id} is a read-only catalogue entry; choose another id for your override`);
    return EXIT_USAGE;
  }
  if (!existing.ok && !(existing.error.kind === 'http' && existing.error.status === 404)) {
    println(io.stderr, `error: ${describeApiFailure(existing.error)}`);
    return EXIT_FAILURE;
  }
  return call<ListItem>(
    o,
    io,
    exists ? { method: 'PUT', path: path(id), body } : { method: 'POST', path: '/api/v1/prices', body },
    (item) => describeEntry(io, item.entry, [exists ? '  (new version written)' : '  (created)']),
    'admin',
  );
}

export async function runPricesImport(
  file: string,
  o: PricesOptions & { project?: string; effectiveFrom?: string },
  io: CliIo,
): Promise<number> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(resolvePath(io.cwd, file), 'utf8'));
  } catch (e) {
    println(io.stderr, `error: cannot read ${file} as JSON: ${(e as Error).message}`);
    return EXIT_USAGE;
  }
  return call<{ created: number; updated: number; skipped: { key: string; reason: string }[] }>(
    o,
    io,
    {
      method: 'POST',
      path: '/api/v1/prices/import',
      query: { project: o.project, effectiveFrom: o.effectiveFrom },
      body: doc,
    },
    (r) =>
      println(
        io.stdout,
        `Imported ${file}: ${r.created} created, ${r.updated} new versions, ${r.skipped.length} skipped (no token price)`,
      ),
    'admin',
  );
}

export function runPricesResolve(
  model: string,
  o: PricesOptions & { provider?: string; project?: string; at?: string; requestModel?: string },
  io: CliIo,
): Promise<number> {
  return call<{
    entry: PriceEntry | null;
    matchedModel: string | null;
    candidates: string[];
    catalogueProvider: string | null;
  }>(
    o,
    io,
    {
      method: 'GET',
      path: '/api/v1/prices/resolve',
      query: { provider: o.provider ?? 'unknown', model, requestModel: o.requestModel, project: o.project, at: o.at },
    },
    (r) => {
      if (r.entry == null) {
        println(io.stdout, `Unpriced: no entry matches (names tried: ${r.candidates.join(', ')})`);
        return;
      }
      describeEntry(io, r.entry, [`  matched as "${r.matchedModel}"; names tried: ${r.candidates.join(', ')}`]);
    },
  );
}
