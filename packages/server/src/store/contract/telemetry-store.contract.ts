/**
 * The TelemetryStore contract: one suite that every implementation (DuckDB, ClickHouse, …)
 * runs. An adapter test calls `describeTelemetryStoreContract` with a factory that opens an
 * empty store; tests an adapter cannot pass are skipped by name, each with its reason.
 *
 * Reference numbers are computed in TypeScript from the inserted data. Exact summaries must
 * match within 1% (percentiles: within the neighbours of the interpolated rank), rollup
 * summaries (precision 'rollup') within 3%; counts and token sums must match exactly.
 */
import {
  COST_SUM_FIELDS,
  costSummary,
  type LlmCall,
  type LlmCallFilter,
  type Span,
  SUMMARY_DIMENSIONS,
  type SummaryDimension,
  type SummaryQuery,
  type SummaryRow,
  type TelemetryBatch,
  UNPRICED,
} from '@reskpoints/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect } from 'vitest';
import { parseLlmCallCursor } from '../llm-call-cursor.js';
import type { IngestedCursor, TelemetryStore } from '../ports.js';
import { type ContractOptions, contractTest } from './contract-options.js';
import {
  BASE_MS,
  DAY_MS,
  expectedSummary,
  generateCalls,
  groupKey,
  HOUR_MS,
  makeLlmCall,
  makeSpan,
  matchesFilter,
  quantileBounds,
} from './fixtures.js';

export interface OpenedTelemetryStore {
  store: TelemetryStore;
  /** Closes the store and frees whatever `open` created (temp files, databases). */
  close: () => Promise<void>;
}

export type { ContractOptions } from './contract-options.js';

/**
 * @param name shown in the test report, e.g. 'DuckDbTelemetryStore (memory)'
 * @param open returns a store over empty storage; the suite calls `migrate()` itself
 */
export function describeTelemetryStoreContract(
  name: string,
  open: () => Promise<OpenedTelemetryStore>,
  options: ContractOptions = {},
): void {
  const test = contractTest(options);

  describe(`TelemetryStore contract: ${name}`, () => {
    let opened: OpenedTelemetryStore | undefined;
    let store: TelemetryStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      await store.migrate();
    });
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    const allCalls = async (filter: LlmCallFilter = {}, fromMs = 0, toMs = BASE_MS + 400 * DAY_MS) => {
      const out: LlmCall[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const res = await store.listLlmCalls({ fromMs, toMs, filter, limit: 1000, ...(cursor ? { cursor } : {}) });
        out.push(...res.items);
        if (res.nextCursor === null) return out;
        cursor = res.nextCursor;
      }
      throw new Error('pagination did not end');
    };

    const byNewest = (a: LlmCall, b: LlmCall) =>
      b.startTimeMs - a.startTimeMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

    const checkSummary = async (calls: LlmCall[], q: SummaryQuery, expectPrecision?: 'exact' | 'rollup') => {
      const res = await store.summarize(q);
      if (expectPrecision) expect(res.precision).toBe(expectPrecision);
      const tol = res.precision === 'exact' ? 0.01 : 0.03;
      const expected = expectedSummary(calls, q);
      const seen = new Set<string>();
      for (const row of res.rows) {
        const key = groupKey(row.bucketStartMs, row.group, q.groupBy);
        const e = expected.get(key);
        expect(e, `unexpected row ${key}`).toBeDefined();
        if (!e) continue;
        expect(seen.has(key), `row ${key} returned twice`).toBe(false);
        seen.add(key);
        expect(Object.keys(row.group).sort()).toEqual([...q.groupBy].sort());
        expect(row.requests, key).toBe(e.requests);
        expect(row.errors, key).toBe(e.errors);
        expect(row.errorRate, key).toBeCloseTo(e.errors / e.requests, 9);
        expect(row.inputTokens, key).toBe(e.inputTokens);
        expect(row.outputTokens, key).toBe(e.outputTokens);
        expect(row.cacheReadTokens, key).toBe(e.cacheReadTokens);
        expect(row.cacheWriteTokens, key).toBe(e.cacheWriteTokens);
        expect(row.reasoningTokens, key).toBe(e.reasoningTokens);
        expect(row.totalTokens, key).toBe(e.totalTokens);
        const cost = costSummary(e, e.requests);
        for (const f of COST_SUM_FIELDS) {
          if (f === 'costUsd' || f === 'reportedCostUsd') continue;
          expect(row[f], `${key} ${f}`).toBeCloseTo(e[f], 9);
        }
        for (const f of [
          'costUsd',
          'reportedCostUsd',
          'costIsLowerBound',
          'costPerRequestUsd',
          'costPer1kTokensUsd',
        ] as const) {
          if (typeof cost[f] === 'number') expect(row[f], `${key} ${f}`).toBeCloseTo(cost[f] as number, 9);
          else expect(row[f], `${key} ${f}`).toBe(cost[f]);
        }
        const percentiles: Array<[keyof SummaryRow, number[], number]> = [
          ['latencyP50Ms', e.latencies, 0.5],
          ['latencyP95Ms', e.latencies, 0.95],
          ['latencyP99Ms', e.latencies, 0.99],
          ['ttftP95Ms', e.ttfts, 0.95],
        ];
        for (const [field, values, p] of percentiles) {
          const actual = row[field] as number | null;
          if (values.length === 0) {
            expect(actual, `${key} ${field}`).toBeNull();
            continue;
          }
          const { low, high } = quantileBounds(values, p, tol);
          expect(actual, `${key} ${field}`).not.toBeNull();
          expect(actual as number, `${key} ${field}`).toBeGreaterThanOrEqual(low);
          expect(actual as number, `${key} ${field}`).toBeLessThanOrEqual(high);
        }
      }
      expect(seen.size, 'number of rows').toBe(expected.size);
      return res;
    };

    // --- append and read back -------------------------------------------------------------

    test('reads back every field of a call exactly', async () => {
      const full = makeLlmCall({
        id: 'call-full',
        projectId: 'prj_a',
        environment: 'staging',
        source: 'otlp',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        parentSpanId: '00f067aa0ba902b7',
        serviceName: 'chat-api',
        provider: 'anthropic',
        model: 'claude-sonnet-4',
        requestModel: 'claude-sonnet-4-0',
        responseModel: 'claude-sonnet-4-20250514',
        operation: 'chat',
        startTimeMs: BASE_MS + 123_456,
        latencyMs: 1234.567,
        ttftMs: 87.25,
        status: 'error',
        errorType: 'overloaded_error',
        errorMessage: 'Overloaded, "retry" later\nline two — ünïcödé 🚀',
        userId: 'user-42',
        sessionId: 'sess-7',
        tags: ['beta', 'eu', 'tag with space'],
        metadata: { feature: 'summarise', 'quote"key': "it's", empty: '' },
        usageRaw: {
          semantics: 'input-excludes-cached',
          inputTokens: 1000,
          outputTokens: 250,
          cacheReadTokens: 4000,
          cacheWriteTokens: 300,
          reasoningTokens: 50,
          totalTokens: 1250,
        },
        usage: {
          inputTokens: 5300,
          outputTokens: 250,
          cacheReadTokens: 4000,
          cacheWriteTokens: 300,
          reasoningTokens: 50,
          totalTokens: 5550,
        },
        reportedCostUsd: 0.012345678,
        cost: {
          totalUsd: 0.0143775,
          inputUsd: 0.0025,
          outputUsd: 0.0025,
          cacheReadUsd: 0.005,
          cacheWriteUsd: 0.001125,
          reasoningUsd: 0.0005,
          requestUsd: 0.0027525,
          priceId: 'anthropic/claude-sonnet-4',
          priceVersion: '2025-05-14',
          tier: '>200k',
          tokensEstimated: true,
        },
        promptExcerpt: 'Summarise this: <doc>…</doc>',
        responseExcerpt: "Here's the summary",
        ingestedAtMs: BASE_MS + 200_000,
      });
      const sparse = makeLlmCall({
        id: 'call-sparse',
        projectId: 'prj_a',
        startTimeMs: BASE_MS + 1,
        latencyMs: 0,
        usageRaw: {
          semantics: 'input-includes-cached',
          inputTokens: null,
          outputTokens: null,
          cacheReadTokens: null,
          cacheWriteTokens: null,
          reasoningTokens: null,
          totalTokens: null,
        },
        usage: {
          inputTokens: 0,
          outputTokens: 0,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          totalTokens: 0,
        },
      });
      const big = makeLlmCall({
        id: 'call-big-numbers',
        projectId: 'prj_a',
        startTimeMs: BASE_MS + 2,
        usageRaw: {
          semantics: 'input-includes-cached',
          inputTokens: 900_000_000_000,
          outputTokens: 1,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          totalTokens: 900_000_000_001,
        },
        usage: {
          inputTokens: 900_000_000_000,
          outputTokens: 1,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          totalTokens: 900_000_000_001,
        },
        reportedCostUsd: 0,
        cost: { ...{ ...UNPRICED }, totalUsd: 0, priceId: 'free/model', priceVersion: '1' },
      });
      const res = await store.appendBatch({ llmCalls: [full, sparse, big], spans: [] });
      expect(res.llmCallsInserted).toBe(3);
      expect(res.llmCallDuplicates).toBe(0);
      const got = await allCalls();
      expect(got).toEqual([full, big, sparse]);
    });

    test('reads back every field of a span exactly', async () => {
      const span = makeSpan({
        projectId: 'prj_a',
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        parentSpanId: '00f067aa0ba902b7',
        serviceName: 'checkout',
        name: 'SELECT orders',
        kind: 'client',
        startTimeMs: BASE_MS + 5000,
        durationMs: 3.75,
        statusCode: 'error',
        statusMessage: 'timeout "db"',
        attributes: { 'db.system': 'postgresql', 'db.rows': 12, retried: true, ratio: 0.5 },
        ingestedAtMs: BASE_MS + 6000,
      });
      const bare = makeSpan({
        projectId: 'prj_a',
        traceId: 't2',
        spanId: 's2',
        serviceName: null,
        startTimeMs: BASE_MS,
      });
      const res = await store.appendBatch({ llmCalls: [], spans: [span, bare] });
      expect(res.spansInserted).toBe(2);
      expect(res.spanDuplicates).toBe(0);
      const got = await store.listSpans({ projectId: 'prj_a', fromMs: BASE_MS, toMs: BASE_MS + HOUR_MS, limit: 100 });
      expect(got).toEqual([bare, span]);
    });

    test('append result lists the inserted keys', async () => {
      const calls = [1, 2, 3].map((i) => makeLlmCall({ id: `k${i}`, projectId: i === 3 ? 'prj_b' : 'prj_a' }));
      const res = await store.appendBatch({ llmCalls: calls, spans: [] });
      expect(res.llmCallsInserted).toBe(3);
      expect([...res.insertedLlmCallKeys].sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        { projectId: 'prj_a', id: 'k1' },
        { projectId: 'prj_a', id: 'k2' },
        { projectId: 'prj_b', id: 'k3' },
      ]);
    });

    test('an empty batch is a no-op', async () => {
      const res = await store.appendBatch({ llmCalls: [], spans: [] });
      expect(res).toEqual({
        llmCallsInserted: 0,
        llmCallDuplicates: 0,
        spansInserted: 0,
        spanDuplicates: 0,
        insertedLlmCallKeys: [],
      });
    });

    // --- idempotency ------------------------------------------------------------------------

    test('appending the same batch twice stores it once', async () => {
      const calls = generateCalls(300, { seed: 1 });
      const spans = [1, 2, 3].map((i) => makeSpan({ traceId: 'tr', spanId: `s${i}`, startTimeMs: BASE_MS + i }));
      const first = await store.appendBatch({ llmCalls: calls, spans });
      expect(first.llmCallsInserted).toBe(300);
      expect(first.spansInserted).toBe(3);
      const second = await store.appendBatch({ llmCalls: calls, spans });
      expect(second).toEqual({
        llmCallsInserted: 0,
        llmCallDuplicates: 300,
        spansInserted: 0,
        spanDuplicates: 3,
        insertedLlmCallKeys: [],
      });
      expect((await allCalls()).length).toBe(300);
      const spansBack = await store.listSpans({
        projectId: 'prj_contract',
        fromMs: 0,
        toMs: BASE_MS + DAY_MS,
        limit: 1000,
      });
      expect(spansBack.length).toBe(3);
      // Summaries, whichever way they are computed, must not count the retry either.
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['model'],
        intervalMs: HOUR_MS,
      });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['user'],
        intervalMs: null,
      });
    });

    test('duplicates inside one batch are stored once', async () => {
      const a = makeLlmCall({ id: 'dup', projectId: 'prj_a', startTimeMs: BASE_MS + 10 });
      const b = makeLlmCall({ id: 'other', projectId: 'prj_a', startTimeMs: BASE_MS + 20 });
      const sameIdOtherProject = makeLlmCall({ id: 'dup', projectId: 'prj_b', startTimeMs: BASE_MS + 10 });
      const span = makeSpan({ traceId: 't', spanId: 's', startTimeMs: BASE_MS });
      const res = await store.appendBatch({ llmCalls: [a, b, a, sameIdOtherProject, a], spans: [span, span] });
      expect(res.llmCallsInserted).toBe(3);
      expect(res.llmCallDuplicates).toBe(2);
      expect(res.spansInserted).toBe(1);
      expect(res.spanDuplicates).toBe(1);
      expect(res.insertedLlmCallKeys.length).toBe(3);
      const got = await allCalls();
      expect(got.map((c) => `${c.projectId}/${c.id}`).sort()).toEqual(['prj_a/dup', 'prj_a/other', 'prj_b/dup']);
      const s = await store.summarize({
        fromMs: BASE_MS,
        toMs: BASE_MS + HOUR_MS,
        filter: {},
        groupBy: [],
        intervalMs: null,
      });
      expect(s.rows.map((r) => r.requests)).toEqual([3]);
    });

    test('duplicates across batches mixed with new events store only the new ones', async () => {
      const calls = generateCalls(200, { seed: 2 });
      await store.appendBatch({ llmCalls: calls.slice(0, 120), spans: [] });
      const res = await store.appendBatch({ llmCalls: calls.slice(80, 200), spans: [] });
      expect(res.llmCallsInserted).toBe(80);
      expect(res.llmCallDuplicates).toBe(40);
      expect(res.insertedLlmCallKeys.map((k) => k.id).sort()).toEqual(
        calls
          .slice(120)
          .map((c) => c.id)
          .sort(),
      );
      const got = await allCalls();
      expect(got).toEqual([...calls].sort(byNewest));
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['model'],
        intervalMs: HOUR_MS,
      });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['user'],
        intervalMs: null,
      });
    });

    test('concurrent appends of overlapping batches store each call once', async () => {
      const calls = generateCalls(400, { seed: 3 });
      const results = await Promise.all([
        store.appendBatch({ llmCalls: calls.slice(0, 250), spans: [] }),
        store.appendBatch({ llmCalls: calls.slice(150, 400), spans: [] }),
        store.appendBatch({ llmCalls: calls.slice(100, 300), spans: [] }),
      ]);
      expect(results.reduce((n, r) => n + r.llmCallsInserted, 0)).toBe(400);
      expect(results.reduce((n, r) => n + r.llmCallDuplicates, 0)).toBe(300);
      expect((await allCalls()).length).toBe(400);
    });

    // --- atomicity --------------------------------------------------------------------------

    /** Batches of calls and spans that each straddle midnight UTC: two days, two tables. */
    const twoDayBatches = (count: number, callsPerBatch: number, spansPerBatch: number) =>
      Array.from({ length: count }, (_, b) => ({
        llmCalls: generateCalls(callsPerBatch, { seed: 100 + b, idPrefix: `b${b}` }).map((c, i) => ({
          ...c,
          startTimeMs: BASE_MS + DAY_MS - 30 * 60_000 + ((i * 3_600_000) / callsPerBatch + b),
        })),
        spans: Array.from({ length: spansPerBatch }, (_, i) =>
          makeSpan({
            traceId: `tb${b}`,
            spanId: `s${i}`,
            startTimeMs: BASE_MS + DAY_MS - 30 * 60_000 + ((i * 3_600_000) / spansPerBatch + b),
          }),
        ),
      }));
    const twoDayRange = { fromMs: BASE_MS, toMs: BASE_MS + 3 * DAY_MS };

    test('readers never see part of a batch', async () => {
      // Calls and spans on both sides of midnight UTC: an adapter that writes per table or per
      // day partition shows a reader the pieces unless it commits them as one.
      const callsPerBatch = 500;
      const spansPerBatch = 40;
      const batches = twoDayBatches(6, callsPerBatch, spansPerBatch);
      let done = false;
      const calls: number[] = [];
      const spans: number[] = [];
      const reader = (async () => {
        while (!done) {
          const s = await store.summarize({ ...twoDayRange, filter: {}, groupBy: [], intervalMs: null });
          calls.push(s.rows[0]?.requests ?? 0);
          spans.push((await store.listSpans({ projectId: 'prj_contract', ...twoDayRange, limit: 1000 })).length);
        }
      })();
      for (const b of batches) await store.appendBatch(b);
      done = true;
      await reader;
      for (const n of calls) expect(n % callsPerBatch).toBe(0);
      for (const n of spans) expect(n % spansPerBatch).toBe(0);
    });

    test('a resolved append is visible whole, and appending it again adds nothing', async () => {
      // What every adapter promises, atomic or not (see ports.ts).
      const [batch] = twoDayBatches(1, 300, 30) as [TelemetryBatch];
      const first = await store.appendBatch(batch);
      expect([first.llmCallsInserted, first.spansInserted]).toEqual([300, 30]);
      const byDay = await store.summarize({ ...twoDayRange, filter: {}, groupBy: [], intervalMs: DAY_MS });
      expect(byDay.rows.map((r) => r.requests)).toEqual([150, 150]);
      expect((await store.listSpans({ projectId: 'prj_contract', ...twoDayRange, limit: 1000 })).length).toBe(30);
      const again = await store.appendBatch(batch);
      expect([again.llmCallsInserted, again.llmCallDuplicates, again.spansInserted, again.spanDuplicates]).toEqual([
        0, 300, 0, 30,
      ]);
      const total = await store.summarize({ ...twoDayRange, filter: {}, groupBy: [], intervalMs: null });
      expect(total.rows[0]?.requests).toBe(300);
    });

    // --- filters ----------------------------------------------------------------------------

    const filterCases: Array<[string, LlmCallFilter]> = [
      ['projectIds', { projectIds: ['prj_b'] }],
      ['environments', { environments: ['staging'] }],
      ['providers', { providers: ['anthropic'] }],
      ['models', { models: ['gpt-4o', 'claude-sonnet-4'] }],
      ['operations', { operations: ['embeddings'] }],
      ['statuses', { statuses: ['error'] }],
      ['userIds', { userIds: ['user-3', 'user-7'] }],
      ['sessionIds', { sessionIds: ['sess-1', 'sess-2', 'sess-3'] }],
      ['services', { services: ['search-api'] }],
      ['tags (every listed tag)', { tags: ['beta', 'eu'] }],
      ['traceId', { traceId: 'trace-5' }],
      ['combined', { projectIds: ['prj_a'], models: ['gpt-4o'], statuses: ['ok'], tags: ['beta'] }],
    ];
    for (const [label, filter] of filterCases) {
      test(`filter ${label} narrows list and summary`, async () => {
        const calls = generateCalls(600, { seed: 7 });
        await store.appendBatch({ llmCalls: calls, spans: [] });
        const expected = calls.filter((c) => matchesFilter(c, filter)).sort(byNewest);
        expect(expected.length).toBeGreaterThan(0);
        expect(expected.length).toBeLessThan(calls.length);
        expect(await allCalls(filter)).toEqual(expected);
        const range = { fromMs: BASE_MS, toMs: BASE_MS + 6 * HOUR_MS };
        await checkSummary(calls, { ...range, filter, groupBy: ['model'], intervalMs: HOUR_MS });
        await checkSummary(calls, { ...range, filter, groupBy: ['user'], intervalMs: null });
      });
    }

    test('lists calls in ingestion order behind a cursor; each stored call once, duplicates keep their first stamp', async () => {
      const first = [
        makeLlmCall({ id: 'i-1', projectId: 'prj_b', startTimeMs: BASE_MS + 5000 }),
        makeLlmCall({ id: 'i-2', projectId: 'prj_a', startTimeMs: BASE_MS }),
        makeLlmCall({ id: 'i-3', projectId: 'prj_a', startTimeMs: BASE_MS - DAY_MS }),
      ];
      await store.appendBatch({ llmCalls: first, spans: [] });
      const second = [
        makeLlmCall({ id: 'i-0', projectId: 'prj_a', startTimeMs: BASE_MS + 1 }),
        // A retried event: not stored again, so not listed again.
        makeLlmCall({ id: 'i-2', projectId: 'prj_a', startTimeMs: BASE_MS }),
        makeLlmCall({ id: 'i-4', projectId: 'prj_c', startTimeMs: BASE_MS + 2 * DAY_MS }),
      ];
      await store.appendBatch({ llmCalls: second, spans: [] });

      const seen: LlmCall[] = [];
      let after: IngestedCursor | null = null;
      for (let page = 0; page < 10; page++) {
        const calls = await store.listLlmCallsIngestedSince({ after, untilMs: Number.MAX_SAFE_INTEGER, limit: 2 });
        if (calls.length === 0) break;
        seen.push(...calls);
        const last = calls[calls.length - 1] as LlmCall;
        after = { ingestedAtMs: last.ingestedAtMs, projectId: last.projectId, id: last.id };
      }
      const keys = seen.map((c) => `${c.projectId}/${c.id}`);
      // Within one commit: (projectId, id) order; the second commit after the first.
      expect(keys).toEqual(['prj_a/i-2', 'prj_a/i-3', 'prj_b/i-1', 'prj_a/i-0', 'prj_c/i-4']);
      const stamps = seen.map((c) => c.ingestedAtMs);
      expect(stamps[0]).toBe(stamps[2]);
      expect(stamps[3]).toBeGreaterThan(stamps[2] as number);
      expect(seen.find((c) => c.id === 'i-0')).toEqual(second[0]);

      // A cursor without a key stands after everything stamped at or before its time.
      const firstStamp = stamps[0] as number;
      expect(
        (
          await store.listLlmCallsIngestedSince({
            after: { ingestedAtMs: firstStamp, projectId: null, id: null },
            untilMs: Number.MAX_SAFE_INTEGER,
            limit: 10,
          })
        ).map((c) => c.id),
      ).toEqual(['i-0', 'i-4']);
      // untilMs bounds the stamps read.
      expect(
        (await store.listLlmCallsIngestedSince({ after: null, untilMs: firstStamp, limit: 10 })).map((c) => c.id),
      ).toEqual(['i-2', 'i-3', 'i-1']);
    });

    test('an empty filter list matches nothing', async () => {
      await store.appendBatch({ llmCalls: generateCalls(50, { seed: 8 }), spans: [] });
      expect(await allCalls({ models: [] })).toEqual([]);
    });

    // --- pagination -------------------------------------------------------------------------

    test('paginates through many pages without gaps or repeats', async () => {
      // Many calls share a start time, so the id must break ties in the keyset.
      const calls: LlmCall[] = [];
      for (let i = 0; i < 257; i++) {
        calls.push(makeLlmCall({ id: `p-${(i * 7919) % 1000}`, startTimeMs: BASE_MS + Math.floor(i / 10) * 1000 }));
      }
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const expected = [...calls].sort(byNewest).map((c) => c.id);
      for (const limit of [1, 7, 50, 257, 1000]) {
        const got: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        for (;;) {
          const page = await store.listLlmCalls({
            fromMs: BASE_MS,
            toMs: BASE_MS + DAY_MS,
            filter: {},
            limit,
            ...(cursor ? { cursor } : {}),
          });
          pages++;
          expect(page.items.length).toBeLessThanOrEqual(limit);
          got.push(...page.items.map((c) => c.id));
          if (page.nextCursor === null) break;
          expect(page.items.length).toBe(limit);
          cursor = page.nextCursor;
          expect(pages).toBeLessThan(400);
        }
        expect(got).toEqual(expected);
        expect(pages).toBe(Math.ceil(257 / limit));
      }
    });

    test('pages through calls of different projects that share an id and a start time', async () => {
      const calls = ['prj_a', 'prj_b', 'prj_c'].flatMap((projectId) =>
        [0, 1].map((t) => makeLlmCall({ id: `same-${t}`, projectId, startTimeMs: BASE_MS + t })),
      );
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await store.listLlmCalls({
          fromMs: BASE_MS,
          toMs: BASE_MS + HOUR_MS,
          filter: {},
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...res.items.map((c) => `${c.startTimeMs - BASE_MS}/${c.projectId}`));
        if (res.nextCursor === null) break;
        cursor = res.nextCursor;
      }
      expect(seen.length).toBe(6);
      expect(new Set(seen).size).toBe(6);
      expect(seen.slice(0, 3).every((k) => k.startsWith('1/'))).toBe(true);
    });

    test('an invalid cursor is reported, not crashed on', async () => {
      await store.appendBatch({ llmCalls: [makeLlmCall({ id: 'x' })], spans: [] });
      for (const bad of ['', 'not-a-cursor', '!!!', 'eyJ4IjoxfQ', Buffer.from('[1,"a","b"]').toString('base64url')]) {
        expect(parseLlmCallCursor(bad).ok).toBe(false);
        await expect(
          store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 10, cursor: bad }),
        ).rejects.toThrow();
      }
      const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 10 });
      expect(page.items.length).toBe(1);
    });

    test('text search finds calls by id, user, model, error and prompt or response text, case-insensitively', async () => {
      const calls = [
        makeLlmCall({ id: 'alpha-1', userId: 'Ada', startTimeMs: BASE_MS + 1 }),
        makeLlmCall({ id: 'beta-2', model: 'claude-Sonnet-4', provider: 'anthropic', startTimeMs: BASE_MS + 2 }),
        makeLlmCall({
          id: 'gamma-3',
          promptExcerpt: 'Translate "Bonjour" to Ünïcode English',
          responseExcerpt: 'Hello, WORLD',
          startTimeMs: BASE_MS + 3,
        }),
        makeLlmCall({
          id: 'delta-4',
          status: 'error',
          errorType: 'RateLimitError',
          errorMessage: 'quota exhausted for key',
          sessionId: 'sess-xyz',
          traceId: 'trace-abc',
          serviceName: 'checkout-api',
          startTimeMs: BASE_MS + 4,
        }),
        makeLlmCall({ id: 'eps-5', projectId: 'prj_other', userId: 'ada', startTimeMs: BASE_MS + 5 }),
      ];
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const search = async (text: string, filter: LlmCallFilter = {}, limit = 100) =>
        (await store.listLlmCalls({ fromMs: BASE_MS, toMs: BASE_MS + HOUR_MS, filter, limit, text })).items.map(
          (c) => c.id,
        );
      expect(await search('ALPHA')).toEqual(['alpha-1']);
      expect(await search('ada')).toEqual(['eps-5', 'alpha-1']);
      expect(await search('ada', { projectIds: ['prj_contract'] })).toEqual(['alpha-1']);
      expect(await search('sonnet')).toEqual(['beta-2']);
      expect(await search('anthropic')).toEqual(['beta-2']);
      expect(await search('"bonjour"')).toEqual(['gamma-3']);
      expect(await search('ünïcode')).toEqual(['gamma-3']);
      expect(await search('hello, world')).toEqual(['gamma-3']);
      expect(await search('ratelimit')).toEqual(['delta-4']);
      expect(await search('Quota Exhausted')).toEqual(['delta-4']);
      expect(await search('xyz')).toEqual(['delta-4']);
      expect(await search('trace-ab')).toEqual(['delta-4']);
      expect(await search('checkout')).toEqual(['delta-4']);
      // JSON field names and other stored structure are not text of the call.
      expect(await search('promptExcerpt')).toEqual([]);
      expect(await search('nothing like this')).toEqual([]);
      expect(await search("it's 100%_")).toEqual([]);
      // Pages through matches with the cursor.
      const first = await store.listLlmCalls({
        fromMs: BASE_MS,
        toMs: BASE_MS + HOUR_MS,
        filter: {},
        limit: 1,
        text: 'a',
      });
      expect(first.items.length).toBe(1);
      const rest = await store.listLlmCalls({
        fromMs: BASE_MS,
        toMs: BASE_MS + HOUR_MS,
        filter: {},
        limit: 100,
        text: 'a',
        cursor: first.nextCursor!,
      });
      expect([...first.items, ...rest.items].map((c) => c.id)).toEqual([
        'eps-5',
        'delta-4',
        'gamma-3',
        'beta-2',
        'alpha-1',
      ]);
    });

    // --- time ranges ------------------------------------------------------------------------

    test('time range includes from and excludes to', async () => {
      const fromMs = BASE_MS + 30 * 60_000;
      const toMs = BASE_MS + 90 * 60_000;
      const calls = [fromMs - 1, fromMs, fromMs + 1, toMs - 1, toMs, toMs + 1].map((t, i) =>
        makeLlmCall({ id: `edge-${i}`, startTimeMs: t, userId: 'u' }),
      );
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const page = await store.listLlmCalls({ fromMs, toMs, filter: {}, limit: 100 });
      expect(page.items.map((c) => c.id)).toEqual(['edge-3', 'edge-2', 'edge-1']);
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: [], intervalMs: null });
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: ['model'], intervalMs: HOUR_MS });
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: ['user'], intervalMs: 60_000 });
      const spans = [fromMs - 1, fromMs, toMs - 1, toMs].map((t, i) =>
        makeSpan({ traceId: 'edge', spanId: `s${i}`, startTimeMs: t }),
      );
      await store.appendBatch({ llmCalls: [], spans });
      const got = await store.listSpans({ projectId: 'prj_contract', fromMs, toMs, limit: 100 });
      expect(got.map((s) => s.spanId).sort()).toEqual(['s1', 's2']);
    });

    // --- summaries --------------------------------------------------------------------------

    test('summary by user over the range matches the data', async () => {
      const calls = generateCalls(3000, { seed: 11 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const res = await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['user'],
        intervalMs: null,
      });
      expect(res.rows.every((r) => r.bucketStartMs === BASE_MS)).toBe(true);
      expect(res.rows.some((r) => r.group.user === null)).toBe(true);
    });

    test('summary by model per hour matches the data', async () => {
      const calls = generateCalls(3000, { seed: 12 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['model'],
        intervalMs: HOUR_MS,
      });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + DAY_MS,
        filter: { projectIds: ['prj_a'], environments: ['production'] },
        groupBy: ['provider', 'model', 'status'],
        intervalMs: 2 * HOUR_MS,
      });
    });

    test('summary totals without grouping', async () => {
      const calls = generateCalls(1500, { seed: 13 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: [],
        intervalMs: null,
      });
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + DAY_MS,
        filter: {},
        groupBy: [],
        intervalMs: DAY_MS,
      });
    });

    test('a group without any known cost has costUsd null, not 0, and counts its unpriced calls', async () => {
      const calls = Array.from({ length: 12 }, (_, i) =>
        makeLlmCall({
          id: `cost-${i}`,
          projectId: 'prj_a',
          model: i < 5 ? 'unpriced-model' : 'mixed-model',
          startTimeMs: BASE_MS + i * 10 * 60_000,
          // mixed-model: two calls without a cost, five with one.
          cost: i < 5 || i % 3 === 0 ? { ...UNPRICED } : { ...UNPRICED, totalUsd: 0.25, inputUsd: 0.25, priceId: 'p' },
        }),
      );
      await store.appendBatch({ llmCalls: calls, spans: [] });
      for (const [fromMs, toMs] of [
        [BASE_MS, BASE_MS + 2 * HOUR_MS + 1234],
        [BASE_MS, BASE_MS + 2 * DAY_MS],
      ] as const) {
        const res = await store.summarize({ fromMs, toMs, filter: {}, groupBy: ['model'], intervalMs: null });
        const byModel = Object.fromEntries(res.rows.map((r) => [r.group.model, r]));
        expect(byModel['unpriced-model']).toMatchObject({ requests: 5, costUsd: null, unpricedRequests: 5 });
        expect(byModel['mixed-model']?.unpricedRequests).toBe(2);
        expect(byModel['mixed-model']?.costUsd).toBeCloseTo(1.25, 9);
        const total = await store.summarize({ fromMs, toMs, filter: {}, groupBy: [], intervalMs: HOUR_MS });
        for (const r of total.rows) {
          if (r.unpricedRequests === r.requests) expect(r.costUsd).toBeNull();
          else expect(r.costUsd).toBeGreaterThan(0);
        }
      }
    });

    test('re-costing writes the new cost of the range only, updates summaries, and twice is the same as once', async () => {
      const calls = generateCalls(300, { seed: 31, hours: 40 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const byKey = new Map(calls.map((c) => [`${c.projectId}/${c.id}`, c]));
      const snapshot = async () => {
        const all = (await allCalls()).map((c) => ({ ...c, ingestedAtMs: 0 }));
        all.sort((a, b) => (`${a.projectId}/${a.id}` < `${b.projectId}/${b.id}` ? -1 : 1));
        const q = { fromMs: BASE_MS, toMs: BASE_MS + 2 * DAY_MS, filter: {}, intervalMs: HOUR_MS } as const;
        const rollup = await store.summarize({ ...q, groupBy: ['model', 'project'] });
        const exact = await store.summarize({ ...q, groupBy: ['user'] });
        return { all, rollup: rollup.rows, exact: exact.rows };
      };
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 40 }),
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(undefined, 'prj_a', 'prj_b'),
          fc.integer({ min: 1, max: 1000 }),
          async (fromHour, hours, projectId, rate) => {
            const fromMs = BASE_MS + fromHour * HOUR_MS - 1234;
            const toMs = fromMs + hours * HOUR_MS;
            const inRange = (c: LlmCall) =>
              c.startTimeMs >= fromMs && c.startTimeMs < toMs && (projectId === undefined || c.projectId === projectId);
            // A price of `rate` dollars per million tokens, the same whatever the call's stored cost.
            const reprice = (c: LlmCall): LlmCall => {
              const inputUsd = (c.usage.inputTokens * rate) / 1e6;
              const outputUsd = (c.usage.outputTokens * rate) / 1e6;
              return {
                ...c,
                cost: {
                  ...UNPRICED,
                  totalUsd: inputUsd + outputUsd,
                  inputUsd,
                  outputUsd,
                  priceId: 'flat',
                  priceVersion: String(rate),
                },
              };
            };
            const q = { fromMs, toMs, ...(projectId ? { projectId } : {}) };
            const first = await store.recost(q, reprice);
            expect(first.callsRecosted).toBe(calls.filter(inRange).length);
            expect(first.periodsDone).toBe(first.periodsTotal);
            const once = await snapshot();
            for (const c of once.all) {
              const before = byKey.get(`${c.projectId}/${c.id}`)!;
              if (inRange(c)) expect(c.cost, c.id).toEqual(reprice(before).cost);
              else expect(c.usage, c.id).toEqual(before.usage);
            }
            const sum = (rows: SummaryRow[]) => rows.reduce((x, r) => x + (r.costUsd ?? 0), 0);
            const expected = once.all.reduce((x, c) => x + (c.cost.totalUsd ?? 0), 0);
            expect(sum(once.rollup)).toBeCloseTo(expected, 9);
            expect(sum(once.exact)).toBeCloseTo(expected, 9);
            await store.recost(q, reprice);
            const twice = await snapshot();
            expect(twice.all).toEqual(once.all);
            expect(twice.rollup.length).toBe(once.rollup.length);
            twice.rollup.forEach((r, i) => {
              expect(r.costUsd ?? 0).toBeCloseTo(once.rollup[i]!.costUsd ?? 0, 9);
              expect(r.requests).toBe(once.rollup[i]!.requests);
            });
          },
        ),
        { numRuns: 4 },
      );
    });

    test('summary over every dimension', async () => {
      const calls = generateCalls(1500, { seed: 14 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      for (const d of SUMMARY_DIMENSIONS) {
        await checkSummary(calls, {
          fromMs: BASE_MS,
          toMs: BASE_MS + 6 * HOUR_MS,
          filter: {},
          groupBy: [d],
          intervalMs: null,
        });
      }
      await checkSummary(calls, {
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['service', 'project'],
        intervalMs: 3 * HOUR_MS,
      });
    });

    test('summary with a range not aligned to hours stays correct', async () => {
      const calls = generateCalls(2000, { seed: 15 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const fromMs = BASE_MS + 37 * 60_000 + 123;
      const toMs = BASE_MS + 4 * HOUR_MS + 11 * 60_000;
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: ['model'], intervalMs: HOUR_MS });
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: ['model'], intervalMs: null });
      await checkSummary(calls, { fromMs, toMs, filter: {}, groupBy: ['model'], intervalMs: 15 * 60_000 });
    });

    test('summary buckets are aligned to the epoch', async () => {
      const calls = generateCalls(1000, { seed: 16, hours: 30 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const res = await checkSummary(calls, {
        fromMs: BASE_MS + 5 * HOUR_MS,
        toMs: BASE_MS + 30 * HOUR_MS,
        filter: {},
        groupBy: [],
        intervalMs: 7 * HOUR_MS,
      });
      for (const r of res.rows) expect(r.bucketStartMs % (7 * HOUR_MS)).toBe(0);
      const buckets = res.rows.map((r) => r.bucketStartMs);
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    });

    test('summary rows are ordered by bucket then requests', async () => {
      const calls = generateCalls(1500, { seed: 17 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const res = await store.summarize({
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['user'],
        intervalMs: HOUR_MS,
      });
      for (let i = 1; i < res.rows.length; i++) {
        const a = res.rows[i - 1]!;
        const b = res.rows[i]!;
        expect(a.bucketStartMs).toBeLessThanOrEqual(b.bucketStartMs);
        if (a.bucketStartMs === b.bucketStartMs) expect(a.requests).toBeGreaterThanOrEqual(b.requests);
      }
    });

    const topNCases: Array<[string, SummaryQuery['orderBy'] & string, SummaryDimension[], number | null]> = [
      ['users by requests', 'requests', ['user'], null],
      ['users by costUsd', 'costUsd', ['user'], null],
      ['models by totalTokens per hour', 'totalTokens', ['model'], HOUR_MS],
      ['users by errors per hour', 'errors', ['user'], HOUR_MS],
    ];
    for (const [label, orderBy, groupBy, intervalMs] of topNCases) {
      test(`orderBy + limit: top ${label}`, async () => {
        const calls = generateCalls(3000, { seed: 18 });
        await store.appendBatch({ llmCalls: calls, spans: [] });
        const limit = 2;
        const q: SummaryQuery = {
          fromMs: BASE_MS,
          toMs: BASE_MS + 6 * HOUR_MS,
          filter: {},
          groupBy,
          intervalMs,
          orderBy,
          limit,
        };
        const res = await store.summarize(q);
        const expected = [...expectedSummary(calls, { ...q, orderBy: undefined, limit: undefined }).values()];
        const buckets = [...new Set(expected.map((e) => e.bucketStartMs))].sort((a, b) => a - b);
        const rowsByBucket = buckets.map((b) => res.rows.filter((r) => r.bucketStartMs === b));
        expect(res.rows.length).toBe(rowsByBucket.reduce((n, r) => n + r.length, 0));
        buckets.forEach((bucket, i) => {
          const rows = rowsByBucket[i]!;
          const want = expected
            .filter((e) => e.bucketStartMs === bucket)
            .map((e) => e[orderBy as 'requests' | 'costUsd' | 'totalTokens' | 'errors'])
            .sort((a, b) => b - a)
            .slice(0, limit);
          // A group without a known cost (null) sorts as 0.
          const gotValues = rows.map((r) => r[orderBy] ?? 0);
          // Ties at the cut may pick either group, so compare the ordered metric values.
          expect(gotValues.length).toBe(want.length);
          gotValues.forEach((v, j) => {
            expect(v).toBeCloseTo(want[j]!, 9);
          });
          for (const r of rows) {
            const e = expected.find(
              (x) => groupKey(x.bucketStartMs, x.group, groupBy) === groupKey(r.bucketStartMs, r.group, groupBy),
            );
            expect(e).toBeDefined();
            expect(r.requests).toBe(e!.requests);
          }
        });
        const bucketOrder = res.rows.map((r) => r.bucketStartMs);
        expect(bucketOrder).toEqual([...bucketOrder].sort((a, b) => a - b));
      });
    }

    test('orderBy latencyP95Ms puts the slowest group first', async () => {
      const calls = generateCalls(1000, { seed: 19 });
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const res = await store.summarize({
        fromMs: BASE_MS,
        toMs: BASE_MS + 6 * HOUR_MS,
        filter: {},
        groupBy: ['user'],
        intervalMs: null,
        orderBy: 'latencyP95Ms',
        limit: 5,
      });
      expect(res.rows.length).toBe(5);
      const values = res.rows.map((r) => r.latencyP95Ms ?? 0);
      expect(values).toEqual([...values].sort((a, b) => b - a));
    });

    test('summary of no data is empty', async () => {
      const q = { fromMs: BASE_MS, toMs: BASE_MS + DAY_MS, filter: {}, intervalMs: null };
      expect((await store.summarize({ ...q, groupBy: [] })).rows).toEqual([]);
      expect((await store.summarize({ ...q, groupBy: ['model'], intervalMs: HOUR_MS })).rows).toEqual([]);
      await store.appendBatch({ llmCalls: generateCalls(100, { seed: 20 }), spans: [] });
      expect((await store.summarize({ ...q, groupBy: ['user'], filter: { models: ['no-such-model'] } })).rows).toEqual(
        [],
      );
      expect(
        (await store.summarize({ ...q, fromMs: BASE_MS + 10 * DAY_MS, toMs: BASE_MS + 11 * DAY_MS, groupBy: [] })).rows,
      ).toEqual([]);
    });

    test('lists of an empty store are empty', async () => {
      expect(await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 10 })).toEqual({
        items: [],
        nextCursor: null,
      });
      expect(
        await store.listSpans({ projectId: 'prj_contract', fromMs: 0, toMs: BASE_MS + DAY_MS, limit: 10 }),
      ).toEqual([]);
      expect(await store.deleteBefore(BASE_MS + DAY_MS)).toBe(0);
    });

    // --- spans ------------------------------------------------------------------------------

    test('listSpans filters by project, trace, service and limit', async () => {
      const spans: Span[] = [];
      for (let i = 0; i < 60; i++) {
        spans.push(
          makeSpan({
            projectId: i % 3 === 0 ? 'prj_b' : 'prj_a',
            traceId: `t${i % 4}`,
            spanId: `s${i}`,
            serviceName: i % 2 === 0 ? 'api' : 'worker',
            startTimeMs: BASE_MS + i * 1000,
          }),
        );
      }
      await store.appendBatch({ llmCalls: [], spans });
      const q = { projectId: 'prj_a', fromMs: BASE_MS, toMs: BASE_MS + HOUR_MS, limit: 1000 };
      const sorted = (xs: Span[]) => xs.map((s) => s.spanId).sort();
      expect(sorted(await store.listSpans(q))).toEqual(sorted(spans.filter((s) => s.projectId === 'prj_a')));
      expect(sorted(await store.listSpans({ ...q, traceId: 't1' }))).toEqual(
        sorted(spans.filter((s) => s.projectId === 'prj_a' && s.traceId === 't1')),
      );
      expect(sorted(await store.listSpans({ ...q, serviceName: 'worker' }))).toEqual(
        sorted(spans.filter((s) => s.projectId === 'prj_a' && s.serviceName === 'worker')),
      );
      const limited = await store.listSpans({ ...q, limit: 5 });
      expect(limited.length).toBe(5);
      const starts = (await store.listSpans(q)).map((s) => s.startTimeMs);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
    });

    // --- traces ------------------------------------------------------------------------------

    const UNPRICED_COST = makeLlmCall({ id: 'x' }).cost;
    /** Two traces in prj_a (one with an error and an unpriced call), one in prj_b, and noise. */
    const traceFixture = () => {
      const spans = [
        makeSpan({
          projectId: 'prj_a',
          traceId: 't1',
          spanId: 'root',
          name: 'POST /chat',
          startTimeMs: BASE_MS,
          durationMs: 900,
        }),
        makeSpan({
          projectId: 'prj_a',
          traceId: 't1',
          spanId: 'llm1',
          parentSpanId: 'root',
          name: 'chat gpt-4o',
          startTimeMs: BASE_MS + 10,
          durationMs: 400,
        }),
        makeSpan({
          projectId: 'prj_a',
          traceId: 't1',
          spanId: 'llm2',
          parentSpanId: 'root',
          name: 'chat claude',
          startTimeMs: BASE_MS + 420,
          durationMs: 300,
          statusCode: 'error',
          statusMessage: 'overloaded',
        }),
        makeSpan({
          projectId: 'prj_a',
          traceId: 't2',
          spanId: 'r2',
          name: 'GET /search',
          startTimeMs: BASE_MS + 5000,
          durationMs: 50,
        }),
        makeSpan({ projectId: 'prj_b', traceId: 't1', spanId: 'other', name: 'other project', startTimeMs: BASE_MS }),
      ];
      const calls = [
        makeLlmCall({
          id: 'c1',
          projectId: 'prj_a',
          traceId: 't1',
          spanId: 'llm1',
          parentSpanId: 'root',
          model: 'gpt-4o',
          startTimeMs: BASE_MS + 10,
          latencyMs: 400,
          cost: { ...UNPRICED_COST, totalUsd: 0.5, inputUsd: 0.5 },
          userId: 'u1',
        }),
        makeLlmCall({
          id: 'c2',
          projectId: 'prj_a',
          traceId: 't1',
          spanId: 'llm2',
          parentSpanId: 'root',
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          startTimeMs: BASE_MS + 420,
          latencyMs: 300,
          status: 'error',
          errorType: 'overloaded',
          cost: { ...UNPRICED_COST },
          userId: 'u2',
        }),
        makeLlmCall({
          id: 'c3',
          projectId: 'prj_a',
          traceId: 't2',
          spanId: 'x',
          model: 'gpt-4o-mini',
          startTimeMs: BASE_MS + 5000,
          latencyMs: 40,
          cost: { ...UNPRICED_COST, totalUsd: 0.25, inputUsd: 0.25 },
          userId: 'u1',
        }),
        makeLlmCall({
          id: 'c4',
          projectId: 'prj_b',
          traceId: 't3',
          model: 'gpt-4o',
          startTimeMs: BASE_MS + 2000,
          latencyMs: 100,
          cost: { ...UNPRICED_COST },
        }),
        makeLlmCall({ id: 'c5', projectId: 'prj_a', traceId: null, startTimeMs: BASE_MS + 3000 }),
      ];
      return { spans, calls };
    };
    const wide = { fromMs: BASE_MS - HOUR_MS, toMs: BASE_MS + HOUR_MS };

    test("getTrace returns one trace's spans and calls in start order, scoped to projects", async () => {
      const { spans, calls } = traceFixture();
      await store.appendBatch({ llmCalls: calls, spans });
      const t1 = await store.getTrace({ traceId: 't1', projectIds: ['prj_a'], ...wide });
      expect(t1.spans.map((s) => s.spanId)).toEqual(['root', 'llm1', 'llm2']);
      expect(t1.spans[2]).toEqual(spans[2]);
      expect(t1.llmCalls).toEqual([calls[0], calls[1]]);
      // Without a project scope the same trace id in another project comes too.
      const all = await store.getTrace({ traceId: 't1', ...wide });
      expect(all.spans.map((s) => `${s.projectId}/${s.spanId}`).sort()).toEqual([
        'prj_a/llm1',
        'prj_a/llm2',
        'prj_a/root',
        'prj_b/other',
      ]);
      expect((await store.getTrace({ traceId: 't1', projectIds: ['prj_c'], ...wide })).spans).toEqual([]);
      // The range bounds the search.
      const late = await store.getTrace({
        traceId: 't1',
        projectIds: ['prj_a'],
        fromMs: BASE_MS + 5,
        toMs: wide.toMs,
      });
      expect(late.spans.map((s) => s.spanId)).toEqual(['llm1', 'llm2']);
      expect(late.llmCalls.map((c) => c.id)).toEqual(['c1', 'c2']);
      expect(await store.getTrace({ traceId: 'nope', ...wide })).toEqual({ spans: [], llmCalls: [] });
    });

    test('fillLlmCallExcerpts gives stored calls the excerpts they lack and keeps those they have', async () => {
      const { spans, calls } = traceFixture();
      const withPrompt = { ...calls[1]!, promptExcerpt: 'own prompt' };
      await store.appendBatch({ llmCalls: [calls[0]!, withPrompt], spans });
      await store.fillLlmCallExcerpts([
        {
          projectId: 'prj_a',
          id: calls[0]!.id,
          startTimeMs: calls[0]!.startTimeMs,
          promptExcerpt: 'user: hi',
          responseExcerpt: 'hello',
        },
        {
          projectId: 'prj_a',
          id: withPrompt.id,
          startTimeMs: withPrompt.startTimeMs,
          promptExcerpt: 'late',
          responseExcerpt: 'answer',
        },
        // Not stored, or another project's: nothing happens.
        {
          projectId: 'prj_b',
          id: calls[0]!.id,
          startTimeMs: calls[0]!.startTimeMs,
          promptExcerpt: 'x',
          responseExcerpt: 'y',
        },
        { projectId: 'prj_a', id: 'missing', startTimeMs: BASE_MS, promptExcerpt: 'x', responseExcerpt: null },
      ]);
      const t1 = await store.getTrace({ traceId: 't1', projectIds: ['prj_a'], ...wide });
      expect(t1.llmCalls).toEqual([
        { ...calls[0], promptExcerpt: 'user: hi', responseExcerpt: 'hello' },
        { ...withPrompt, responseExcerpt: 'answer' },
      ]);
      expect(t1.llmCalls.length).toBe(2);
    });

    test('getTrace after a retried batch returns each span and call once', async () => {
      const { spans, calls } = traceFixture();
      await store.appendBatch({ llmCalls: calls, spans });
      await store.appendBatch({ llmCalls: calls, spans });
      const t1 = await store.getTrace({ traceId: 't1', projectIds: ['prj_a'], ...wide });
      expect(t1.spans.length).toBe(3);
      expect(t1.llmCalls.length).toBe(2);
    });

    test('listTraces summarises traces with matching calls, newest first', async () => {
      const { spans, calls } = traceFixture();
      await store.appendBatch({ llmCalls: calls, spans });
      await store.appendBatch({ llmCalls: calls, spans });
      const all = await store.listTraces({ ...wide, filter: {}, limit: 100 });
      expect(all.nextCursor).toBeNull();
      expect(all.items).toEqual([
        {
          projectId: 'prj_a',
          traceId: 't2',
          startTimeMs: BASE_MS + 5000,
          endTimeMs: BASE_MS + 5040,
          llmCalls: 1,
          errors: 0,
          costUsd: 0.25,
          unpricedCalls: 0,
          models: ['gpt-4o-mini'],
          rootSpanName: 'GET /search',
        },
        {
          projectId: 'prj_b',
          traceId: 't3',
          startTimeMs: BASE_MS + 2000,
          endTimeMs: BASE_MS + 2100,
          llmCalls: 1,
          errors: 0,
          costUsd: null,
          unpricedCalls: 1,
          models: ['gpt-4o'],
          rootSpanName: null,
        },
        {
          projectId: 'prj_a',
          traceId: 't1',
          startTimeMs: BASE_MS + 10,
          endTimeMs: BASE_MS + 720,
          llmCalls: 2,
          errors: 1,
          costUsd: 0.5,
          unpricedCalls: 1,
          models: ['claude-sonnet-4', 'gpt-4o'],
          rootSpanName: 'POST /chat',
        },
      ]);
      // A filter picks traces by any of their calls, and the summary still covers the whole trace.
      const byUser = await store.listTraces({ ...wide, filter: { userIds: ['u2'] }, limit: 100 });
      expect(byUser.items.map((t) => [t.traceId, t.llmCalls])).toEqual([['t1', 2]]);
      const scoped = await store.listTraces({ ...wide, filter: { projectIds: ['prj_b'] }, limit: 100 });
      expect(scoped.items.map((t) => t.traceId)).toEqual(['t3']);
      const top = await store.listTraces({ ...wide, filter: {}, limit: 2 });
      expect(top.items.map((t) => t.traceId)).toEqual(['t2', 't3']);
      expect(top.nextCursor).not.toBeNull();
      const rest = await store.listTraces({ ...wide, filter: {}, limit: 2, cursor: top.nextCursor! });
      expect(rest.items.map((t) => t.traceId)).toEqual(['t1']);
      expect(rest.items[0]).toEqual(all.items[2]);
      expect(rest.nextCursor).toBeNull();
      expect(
        await store.listTraces({ fromMs: BASE_MS + DAY_MS, toMs: BASE_MS + 2 * DAY_MS, filter: {}, limit: 10 }),
      ).toEqual({ items: [], nextCursor: null });
    });

    test('listTraces pages with a cursor through traces that share a start, each once, in order', async () => {
      // 3 projects × 20 traces, several traces per millisecond, and the same trace id in several projects.
      const calls: LlmCall[] = [];
      for (const projectId of ['prj_a', 'prj_b', 'prj_c'])
        for (let i = 0; i < 20; i++)
          for (let k = 0; k < 2; k++)
            calls.push(
              makeLlmCall({
                id: `${projectId}-${i}-${k}`,
                projectId,
                traceId: `tr-${String(i % 13).padStart(2, '0')}-${i}`,
                startTimeMs: BASE_MS + Math.floor(i / 3) * 1000 + k * 10,
              }),
            );
      await store.appendBatch({ llmCalls: calls, spans: [] });
      const whole = await store.listTraces({ ...wide, filter: {}, limit: 1000 });
      expect(whole.items.length).toBe(60);
      const key = (t: { startTimeMs: number; traceId: string; projectId: string }) =>
        `${t.startTimeMs}/${t.traceId}/${t.projectId}`;
      const sorted = [...whole.items].sort((a, b) =>
        a.startTimeMs !== b.startTimeMs
          ? b.startTimeMs - a.startTimeMs
          : a.traceId !== b.traceId
            ? a.traceId < b.traceId
              ? 1
              : -1
            : a.projectId < b.projectId
              ? 1
              : -1,
      );
      expect(whole.items.map(key)).toEqual(sorted.map(key));
      for (const limit of [1, 7, 60]) {
        const got: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 100; page++) {
          const res = await store.listTraces({ ...wide, filter: {}, limit, ...(cursor ? { cursor } : {}) });
          expect(res.items.length).toBeLessThanOrEqual(limit);
          got.push(...res.items.map(key));
          if (res.nextCursor === null) break;
          cursor = res.nextCursor;
        }
        expect(got).toEqual(sorted.map(key));
      }
      // With a filter, pages hold only traces with a matching call.
      const b = await store.listTraces({ ...wide, filter: { projectIds: ['prj_b'] }, limit: 8 });
      const b2 = await store.listTraces({
        ...wide,
        filter: { projectIds: ['prj_b'] },
        limit: 100,
        cursor: b.nextCursor!,
      });
      expect([...b.items, ...b2.items].map((t) => t.projectId)).toEqual(Array(20).fill('prj_b'));
    });

    test('span identity is (project, trace, span)', async () => {
      const a = makeSpan({ projectId: 'prj_a', traceId: 't', spanId: 's' });
      const otherTrace = makeSpan({ projectId: 'prj_a', traceId: 't2', spanId: 's' });
      const otherProject = makeSpan({ projectId: 'prj_b', traceId: 't', spanId: 's' });
      const res = await store.appendBatch({ llmCalls: [], spans: [a, otherTrace, otherProject] });
      expect(res.spansInserted).toBe(3);
      const again = await store.appendBatch({ llmCalls: [], spans: [a, otherTrace, otherProject] });
      expect(again.spansInserted).toBe(0);
      expect(again.spanDuplicates).toBe(3);
    });

    // --- retention --------------------------------------------------------------------------

    test('deleteBefore removes older calls and spans and keeps summaries consistent', async () => {
      const calls = generateCalls(2000, { seed: 21, hours: 10 });
      const spans = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((h) =>
        makeSpan({ traceId: 'ret', spanId: `s${h}`, startTimeMs: BASE_MS + h * HOUR_MS + 1 }),
      );
      await store.appendBatch({ llmCalls: calls, spans });
      // Not aligned to an hour: the hour that straddles the cut must be partly kept.
      const cutMs = BASE_MS + 4 * HOUR_MS + 20 * 60_000;
      const removedCalls = calls.filter((c) => c.startTimeMs < cutMs).length;
      const removed = await store.deleteBefore(cutMs);
      expect(removed).toBe(removedCalls + 5);
      const kept = calls.filter((c) => c.startTimeMs >= cutMs);
      expect(await allCalls()).toEqual([...kept].sort(byNewest));
      const spansLeft = await store.listSpans({
        projectId: 'prj_contract',
        fromMs: 0,
        toMs: BASE_MS + DAY_MS,
        limit: 100,
      });
      expect(spansLeft.map((s) => s.spanId).sort()).toEqual(['s5', 's6', 's7', 's8', 's9']);
      const range = { fromMs: BASE_MS, toMs: BASE_MS + 10 * HOUR_MS, filter: {} };
      await checkSummary(kept, { ...range, groupBy: ['model'], intervalMs: HOUR_MS });
      await checkSummary(kept, { ...range, groupBy: [], intervalMs: null });
      await checkSummary(kept, { ...range, groupBy: ['user'], intervalMs: null });
      expect(await store.deleteBefore(cutMs)).toBe(0);
      // A call deleted by retention and sent again is stored again.
      const old = calls.find((c) => c.startTimeMs < cutMs)!;
      const again = await store.appendBatch({ llmCalls: [old], spans: [] });
      expect(again.llmCallsInserted).toBe(1);
    });

    // --- migrations -------------------------------------------------------------------------

    test('migrate is idempotent', async () => {
      await store.appendBatch({ llmCalls: [makeLlmCall({ id: 'm1' })], spans: [] });
      await store.migrate();
      await store.migrate();
      expect((await allCalls()).map((c) => c.id)).toEqual(['m1']);
    });
  });
}
