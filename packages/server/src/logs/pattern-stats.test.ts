/**
 * Pattern statistics and the `log-pattern` signals on DuckDB: a pattern first seen late in the
 * window is new, a pattern whose last bucket jumps is a rate rise, steady patterns are quiet.
 */
import { FakeClock, LogMiner, type LogRecord } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedStateSql, openStateSql } from '../platform/testing/state-sql.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { LogRepo } from './log-repo.js';
import { PatternService } from './pattern-service.js';
import { bucketRateChange, computePatternStats, patternSignals } from './pattern-stats.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const MIN = 60_000;
let telemetry: DuckDbTelemetryStore;
let state: OpenedStateSql;
let patterns: PatternService;

function log(
  i: number,
  timeMs: number,
  body: string,
  severity: LogRecord['severity'] = 'info',
  projectId = 'p1',
): LogRecord {
  return {
    id: `l${i}`,
    projectId,
    timeMs,
    observedTimeMs: timeMs,
    ingestedAtMs: timeMs,
    source: 'native',
    serviceName: 'api',
    environment: 'production',
    severity,
    severityNumber: 9,
    severityText: null,
    body,
    traceId: null,
    spanId: null,
    eventName: null,
    attributes: {},
    resource: {},
    patternId: null,
  };
}

beforeAll(async () => {
  telemetry = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock(NOW) });
  await telemetry.migrate();
  state = await openStateSql('duckdb');
  patterns = new PatternService({ repo: new LogRepo(state.db), nowMs: () => NOW });
  const logs: LogRecord[] = [];
  let i = 0;
  // An hour of steady health checks (10 a minute), cache lines that jump in the last 5 minutes,
  // and a failure that starts 10 minutes before now; another project logs the same failure all hour.
  for (let m = 60; m >= 1; m--) {
    const t = NOW - m * MIN;
    for (let k = 0; k < 10; k++) logs.push(log(i++, t + k * 1000, `GET /health 200 in ${k}ms`));
    const cache = m <= 5 ? 60 : 5;
    for (let k = 0; k < cache; k++) logs.push(log(i++, t + k * 500, `cache miss for key user:${k}`, 'debug'));
    if (m <= 10) logs.push(log(i++, t + 30_000, `payment provider refused order ${m}`, 'error'));
    logs.push(log(i++, t + 40_000, `payment provider refused order ${m}`, 'error', 'p2'));
  }
  const batch = { llmCalls: [], spans: [], logs };
  patterns.enrich(batch);
  await telemetry.appendBatch(batch);
});
afterAll(async () => {
  await telemetry?.close();
  await state?.close();
});

describe('pattern statistics', () => {
  it('counts per pattern with templates, new patterns and the last bucket z-score', async () => {
    const s = await computePatternStats(telemetry, patterns, {
      fromMs: NOW - 60 * MIN,
      toMs: NOW,
      filter: { projectIds: ['p1'] },
      limit: 1000,
    });
    const by = (re: RegExp) => s.patterns.find((p) => re.test(p.examples[0] ?? '')) as (typeof s.patterns)[number];
    const health = by(/health/);
    expect(health.count).toBe(600);
    expect(health.ratePerMinute).toBeCloseTo(10, 5);
    expect(health.template).toBe('GET /health <*> in <*>');
    expect(health.isNew).toBe(false);
    expect(Math.abs(health.rateChange?.zScore ?? 99)).toBeLessThan(1);
    const cache = by(/cache/);
    expect(cache.rateChange?.zScore).toBeGreaterThan(10);
    expect(cache.severities).toEqual({ debug: 55 * 5 + 5 * 60 });
    const failure = by(/payment/);
    expect(failure.isNew).toBe(true);
    expect(failure.count).toBe(10);
  });

  it('judges the last bucket with the MAD detector: robust to an old burst, floored for flat counts', () => {
    // One extra line on a flat history is noise, not a surge.
    expect(Math.abs(bucketRateChange([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 11).zScore)).toBeLessThan(1);
    const surge = bucketRateChange([10, 12, 9, 11, 10, 10, 11, 9, 10, 12, 10], 60);
    expect(surge.zScore).toBeGreaterThan(10);
    expect(surge.score).toBe(1);
    expect(surge.expected).toBe(10);
    expect(surge.upper).toBeLessThan(25);
    // A burst earlier in the range moves neither the median nor the MAD: the surge still stands
    // out, where a mean and standard deviation widened by the burst would hide it.
    const afterBurst = bucketRateChange([10, 12, 9, 400, 10, 10, 11, 9, 10, 12, 10], 60);
    expect(afterBurst.expected).toBe(10);
    expect(afterBurst.zScore).toBeGreaterThan(10);
    const mean = afterBurst.baselineMean;
    const sd = Math.sqrt([10, 12, 9, 400, 10, 10, 11, 9, 10, 12, 10].reduce((a, v) => a + (v - mean) ** 2, 0) / 11);
    expect((60 - mean) / sd).toBeLessThan(1);
    // A drop scores negative.
    expect(bucketRateChange([100, 102, 98, 101, 99, 100, 100, 103, 97, 100, 100], 5).zScore).toBeLessThan(-9);
  });

  it('gives new-pattern and rate-change signals per project', async () => {
    const miner = new LogMiner();
    const opts = { windowMs: 60 * MIN, zScore: 4, minLines: 20 };
    const p1 = await patternSignals(telemetry, patterns, 'p1', NOW, opts);
    expect(p1.map((s) => [s.labels.kind, s.annotations?.summary]).sort()).toEqual([
      ['new', `New log pattern in api: payment provider refused order <*>`],
      ['rate-rise', 'Log pattern surging in api: cache miss for key <*>'],
    ]);
    const rise = p1.find((s) => s.labels.kind === 'rate-rise');
    expect(rise?.labels).toMatchObject({ project: 'p1', service: 'api' });
    expect(rise?.value).toBeGreaterThan(4);
    expect(p1.find((s) => s.labels.kind === 'new')?.labels.pattern).toBe(
      miner.add('payment provider refused order 10').patternId,
    );
    // In p2 the same failure has logged all hour: neither new nor changed.
    expect(await patternSignals(telemetry, patterns, 'p2', NOW, opts)).toEqual([]);
  });
});
