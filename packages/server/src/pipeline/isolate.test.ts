import type { LlmCall, Span, TelemetryBatch } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { makeLlmCall } from '../store/contract/fixtures.js';
import { DuckDbDatabase } from '../store/duckdb/duckdb-database.js';
import { classifyDuckDbWriteError } from '../store/duckdb/duckdb-errors.js';
import { isPermanentStoreError, PermanentStoreError } from '../store/permanent-error.js';
import type { AppendResult } from '../store/ports.js';
import { commitIsolating } from './isolate.js';

/** A sink that stores what it is given unless it holds a refused id (the whole commit then fails). */
function sink(refused: Set<string>, transientAfterCommits = Number.POSITIVE_INFINITY) {
  const stored = new Set<string>();
  let commits = 0;
  const commit = async (b: TelemetryBatch): Promise<AppendResult> => {
    commits++;
    if (commits > transientAfterCommits) throw new Error('ETIMEDOUT');
    const bad = b.llmCalls.find((c) => refused.has(c.id)) ?? b.spans.find((s) => refused.has(s.spanId));
    if (bad) throw new PermanentStoreError(`refused ${'id' in bad ? bad.id : ''}`);
    for (const c of b.llmCalls) stored.add(c.id);
    for (const s of b.spans) stored.add(s.spanId);
    return {
      llmCallsInserted: b.llmCalls.length,
      llmCallDuplicates: 0,
      spansInserted: b.spans.length,
      spanDuplicates: 0,
      insertedLlmCallKeys: b.llmCalls.map((c) => ({ projectId: c.projectId, id: c.id })),
    };
  };
  return { commit, stored, commits: () => commits };
}

const calls = (n: number): LlmCall[] => Array.from({ length: n }, (_, i) => makeLlmCall({ id: `c${i}` }));
const spans = (n: number): Span[] =>
  Array.from({ length: n }, (_, i) => ({ ...({} as Span), projectId: 'p', traceId: 't', spanId: `s${i}` }));

describe('commitIsolating', () => {
  it('stores everything but the refused events, in about 2·log2(n) commits per refused event', async () => {
    const s = sink(new Set(['c37', 's5']));
    const r = await commitIsolating(s.commit, { llmCalls: calls(100), spans: spans(28) });
    if (!r.ok) throw new Error('expected ok');
    expect(r.rejected.map((x) => (x.kind === 'llmCall' ? (x.event as LlmCall).id : (x.event as Span).spanId))).toEqual([
      'c37',
      's5',
    ]);
    expect(s.stored.size).toBe(126);
    expect(r.result.llmCallsInserted + r.result.spansInserted).toBe(126);
    expect(r.commits).toBeLessThanOrEqual(2 * 2 * Math.ceil(Math.log2(128)) + 1);
  });

  it('gives up on a transient failure so that the caller retries the whole batch', async () => {
    const s = sink(new Set(['c3']), 2);
    const r = await commitIsolating(s.commit, { llmCalls: calls(16), spans: [] });
    expect(r.ok).toBe(false);
    expect(!r.ok && isPermanentStoreError(r.error)).toBe(false);
  });
});

describe('classifyDuckDbWriteError', () => {
  it('marks errors the data causes as permanent and leaves the others alone', async () => {
    const db = await DuckDbDatabase.open({ path: ':memory:' });
    try {
      const conversion = await db.query(`SELECT CAST('not a number' AS INTEGER)`).catch((e: unknown) => e);
      expect(isPermanentStoreError(classifyDuckDbWriteError(conversion))).toBe(true);
      const constraint = await db
        .query('CREATE TABLE t (x INTEGER NOT NULL); INSERT INTO t VALUES (NULL)')
        .catch((e: unknown) => e);
      expect(isPermanentStoreError(classifyDuckDbWriteError(constraint))).toBe(true);
      const io = await db.query(`SELECT * FROM read_csv('/nonexistent/file.csv')`).catch((e: unknown) => e);
      expect(isPermanentStoreError(classifyDuckDbWriteError(io))).toBe(false);
    } finally {
      await db.close();
    }
  });
});
