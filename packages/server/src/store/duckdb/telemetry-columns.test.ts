import { DuckDBInstance } from '@duckdb/node-api';
import type { LlmCall } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { BASE_MS, generateCalls, HOUR_MS, makeLlmCall } from '../contract/fixtures.js';
import { type Column, sqlType } from './columnar-append.js';
import { bucketOf, bucketValue, RELATIVE_ERROR } from './latency-histogram.js';
import { DAY_MS, HISTOGRAM_COLUMNS, ROLLUP_COLUMNS, rollupsOf } from './rollup-rows.js';
import { llmCallColumns, llmCallDetail, llmCallFlags, parseLlmCallDetail, SPAN_COLUMNS } from './telemetry-columns.js';
import { TELEMETRY_MIGRATIONS } from './telemetry-migrations.js';

describe('telemetry columns', () => {
  it('match the tables the migrations create, in order (appends are positional)', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    for (const m of TELEMETRY_MIGRATIONS) for (const step of m.steps) await c.run(step);
    const describe = async (table: string) =>
      (await c.runAndReadAll(`DESCRIBE ${table}`)).getRows().map((r) => `${r[0]} ${r[1]}`);
    const expected = (columns: ReadonlyArray<Pick<Column<unknown>, 'name' | 'kind'>>) =>
      columns.map((x) => `${x.name} ${sqlType(x.kind)}`);
    expect(await describe('llm_calls')).toEqual(expected(llmCallColumns(new Int32Array(0))));
    expect(await describe('spans')).toEqual(expected(SPAN_COLUMNS));
    expect(await describe('llm_rollup_1h')).toEqual(expected(ROLLUP_COLUMNS));
    expect(await describe('llm_hist_1h')).toEqual(expected(HISTOGRAM_COLUMNS));
    expect(await describe('llm_hist_1d')).toEqual(expected(HISTOGRAM_COLUMNS));
    c.closeSync();
    db.closeSync();
  });

  it('detail JSON round-trips the fields it carries', () => {
    const call = makeLlmCall({
      id: 'x',
      spanId: 's"1',
      errorMessage: 'line\nbreak ü',
      metadata: { a: 'b' },
      promptExcerpt: '{"json": true}',
      usageRaw: {
        semantics: 'input-excludes-cached',
        inputTokens: 1,
        outputTokens: null,
        cacheReadTokens: 3,
        cacheWriteTokens: null,
        reasoningTokens: 0,
        totalTokens: null,
      },
    });
    const d = parseLlmCallDetail(llmCallDetail(call), llmCallFlags(call), call.ingestedAtMs, call.usage);
    expect(d).toEqual({
      source: call.source,
      ingestedAtMs: call.ingestedAtMs,
      usageRaw: call.usageRaw,
      spanId: call.spanId,
      parentSpanId: null,
      requestModel: null,
      responseModel: null,
      errorType: null,
      errorMessage: call.errorMessage,
      metadata: call.metadata,
      promptExcerpt: call.promptExcerpt,
      responseExcerpt: null,
    });
  });

  it('a call whose raw usage the usage columns imply stores no detail, and reads back whole', () => {
    for (const source of ['native', 'otlp', 'langfuse', 'sdk', 'demo'] as const) {
      const call = makeLlmCall({
        id: `c-${source}`,
        source,
        usageRaw: {
          semantics: 'input-includes-cached',
          inputTokens: 120,
          outputTokens: 30,
          cacheReadTokens: null,
          cacheWriteTokens: 0,
          reasoningTokens: null,
          totalTokens: 150,
        },
        usage: {
          inputTokens: 120,
          outputTokens: 30,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          totalTokens: 150,
        },
      });
      expect(llmCallDetail(call)).toBeNull();
      const d = parseLlmCallDetail(null, llmCallFlags(call), call.ingestedAtMs, call.usage);
      expect(d).toMatchObject({ source, ingestedAtMs: call.ingestedAtMs, usageRaw: call.usageRaw });
    }
  });

  it('a source the flags do not name travels in detail', () => {
    const call = makeLlmCall({ id: 'x', source: 'collector' as LlmCall['source'] });
    expect(llmCallFlags(call) & 7).toBe(7);
    const d = parseLlmCallDetail(llmCallDetail(call), llmCallFlags(call), call.ingestedAtMs, call.usage);
    expect(d.source).toBe('collector');
  });

  it('rows written before the flags column read everything from detail', () => {
    const legacy =
      '{"source":"otlp","ingestedAtMs":1700000000123,"usageRaw":{"semantics":"input-excludes-cached","inputTokens":5},"spanId":"s1"}';
    const usage = {
      inputTokens: 5,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: 5,
    };
    expect(parseLlmCallDetail(legacy, null, null, usage)).toMatchObject({
      source: 'otlp',
      ingestedAtMs: 1700000000123,
      spanId: 's1',
      usageRaw: {
        semantics: 'input-excludes-cached',
        inputTokens: 5,
        outputTokens: null,
        cacheReadTokens: null,
        cacheWriteTokens: null,
        reasoningTokens: null,
        totalTokens: null,
      },
    });
  });
});

describe('latency histogram', () => {
  it('represents every value within the relative error', () => {
    for (let v = 0.001; v < 1e8; v *= 1.013) {
      const estimate = bucketValue(bucketOf(v));
      expect(Math.abs(estimate - v) / v).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-12);
    }
    expect(bucketValue(bucketOf(0))).toBe(0);
  });
});

describe('rollupsOf', () => {
  it('counts every call once per hour and once per day', () => {
    const calls = generateCalls(2000, { seed: 3, hours: 30 });
    const ids = new Int32Array(calls.length).map((_, i) => 1 + (i % 4));
    const r = rollupsOf(calls, ids);
    const sum = (xs: Array<{ n: number }>) => xs.reduce((a, x) => a + x.n, 0);
    const ttfts = calls.filter((c) => c.ttftMs !== null).length;
    expect(r.rollups.reduce((a, x) => a + x.requests, 0)).toBe(2000);
    expect(sum(r.hourly)).toBe(2000 + ttfts);
    expect(sum(r.daily)).toBe(2000 + ttfts);
    expect(r.rollups.reduce((a, x) => a + x.totalTokens, 0)).toBe(calls.reduce((a, c) => a + c.usage.totalTokens, 0));
    for (const row of r.rollups) expect(row.hourMs % HOUR_MS).toBe(0);
    for (const row of r.daily) expect(row.periodMs % DAY_MS).toBe(0);
    expect([...r.days].every((d) => d >= BASE_MS - DAY_MS)).toBe(true);
  });
});
