/**
 * The log half of the TelemetryStore contract: every adapter runs it next to
 * `describeTelemetryStoreContract`, with the same factory.
 */
import type { LogRecord, LogSearchQuery, LogSeverity } from '@reskpoints/core';
import { logRecordId } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TelemetryStore } from '../ports.js';
import type { OpenedTelemetryStore } from './telemetry-store.contract.js';

const BASE = Date.UTC(2026, 10, 20, 10, 0, 0);
const MIN = 60_000;
const SEVERITIES: LogSeverity[] = ['debug', 'info', 'info', 'warn', 'error'];

export function makeLog(i: number, over: Partial<LogRecord> = {}): LogRecord {
  const base = {
    projectId: over.projectId ?? (i % 5 === 0 ? 'p2' : 'p1'),
    timeMs: over.timeMs ?? BASE + i * 7_000,
    observedTimeMs: BASE + i * 7_000,
    source: 'otlp' as const,
    serviceName: over.serviceName !== undefined ? over.serviceName : i % 3 === 0 ? 'billing' : 'api',
    environment: 'prod',
    severity: over.severity ?? (SEVERITIES[i % SEVERITIES.length] as LogSeverity),
    severityNumber: 9,
    severityText: null,
    body: over.body ?? (i % 4 === 0 ? `Payment FAILED for order ${i}` : `GET /health ${i} ok`),
    traceId: over.traceId !== undefined ? over.traceId : i % 10 === 0 ? 'ab'.repeat(16) : null,
    spanId: null,
    eventName: null,
    attributes: { n: i, route: '/health', ok: i % 2 === 0 },
    resource: { 'host.name': `web-${i % 2}` },
  };
  return {
    ...base,
    id: over.id ?? logRecordId(base, i),
    ingestedAtMs: 0,
    patternId: over.patternId !== undefined ? over.patternId : i % 4 === 0 ? 'p_pay' : 'p_health',
  };
}

export function describeLogStoreContract(name: string, open: () => Promise<OpenedTelemetryStore>): void {
  describe(`TelemetryStore logs contract: ${name}`, () => {
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

    const range = { fromMs: BASE - MIN, toMs: BASE + 24 * 3_600_000 };
    const q = (over: Partial<LogSearchQuery> = {}): LogSearchQuery => ({ ...range, filter: {}, limit: 1000, ...over });
    const all = async (query: LogSearchQuery): Promise<LogRecord[]> => {
      const out: LogRecord[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const res = await store.searchLogs({ ...query, ...(cursor ? { cursor } : {}) });
        out.push(...res.items);
        if (!res.nextCursor) return out;
        cursor = res.nextCursor;
      }
      throw new Error('pagination did not end');
    };

    it('stores log records exactly once and reads every field back', async () => {
      const logs = Array.from({ length: 200 }, (_, i) => makeLog(i));
      const first = await store.appendBatch({ llmCalls: [], spans: [], logs });
      expect(first.logsInserted).toBe(200);
      expect(first.logDuplicates).toBe(0);
      // A retried batch (and a copy inside one batch) is stored once.
      const again = await store.appendBatch({
        llmCalls: [],
        spans: [],
        logs: [...logs.slice(0, 50), logs[0] as LogRecord],
      });
      expect(again.logsInserted).toBe(0);
      expect(again.logDuplicates).toBe(51);
      const read = await all(q());
      expect(read).toHaveLength(200);
      const byId = new Map(read.map((l) => [`${l.projectId}/${l.id}`, l]));
      for (const l of logs) {
        const got = byId.get(`${l.projectId}/${l.id}`);
        expect(got).toEqual({ ...l, ingestedAtMs: got?.ingestedAtMs });
        expect(got?.ingestedAtMs).toBeGreaterThan(0);
      }
    });

    it('searches newest first by service, severity, pattern, trace and text, with a stable cursor', async () => {
      const logs = Array.from({ length: 120 }, (_, i) => makeLog(i));
      // Two records at the same millisecond in two projects with the same id.
      const twinA = makeLog(500, { id: 'same', projectId: 'p1', timeMs: BASE + 3_600_000 });
      const twinB = makeLog(500, { id: 'same', projectId: 'p2', timeMs: BASE + 3_600_000 });
      await store.appendBatch({ llmCalls: [], spans: [], logs: [...logs, twinA, twinB] });
      const expectOrder = (xs: LogRecord[]) =>
        [...xs].sort(
          (a, b) =>
            b.timeMs - a.timeMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) || (a.projectId < b.projectId ? 1 : -1),
        );
      const everything = await all(q({ limit: 7 }));
      expect(everything.map((l) => `${l.projectId}/${l.id}`)).toEqual(
        expectOrder([...logs, twinA, twinB]).map((l) => `${l.projectId}/${l.id}`),
      );
      const cases: Array<[LogSearchQuery['filter'], (l: LogRecord) => boolean]> = [
        [{ services: ['billing'] }, (l) => l.serviceName === 'billing'],
        [{ severities: ['error', 'warn'] }, (l) => l.severity === 'error' || l.severity === 'warn'],
        [{ patternIds: ['p_pay'] }, (l) => l.patternId === 'p_pay'],
        [{ traceId: 'ab'.repeat(16) }, (l) => l.traceId === 'ab'.repeat(16)],
        [{ text: 'payment failed' }, (l) => l.body.toLowerCase().includes('payment failed')],
        [{ projectIds: ['p2'], text: '50%' }, () => false],
        [{ projectIds: ['p2'] }, (l) => l.projectId === 'p2'],
      ];
      for (const [filter, pred] of cases) {
        const got = await all(q({ filter, limit: 9 }));
        expect(
          got.map((l) => `${l.projectId}/${l.id}`),
          JSON.stringify(filter),
        ).toEqual(expectOrder([...logs, twinA, twinB].filter(pred)).map((l) => `${l.projectId}/${l.id}`));
      }
    });

    it('counts lines, bytes and severities per service and pattern, and rates per bucket', async () => {
      const logs = Array.from({ length: 300 }, (_, i) => makeLog(i));
      await store.appendBatch({ llmCalls: [], spans: [], logs });
      const counts = await store.logPatternCounts(q({ filter: { projectIds: ['p1'] } }));
      const mine = logs.filter((l) => l.projectId === 'p1');
      const key = (s: string | null, p: string | null) => `${s}/${p}`;
      const expected = new Map<string, LogRecord[]>();
      for (const l of mine) {
        const k = key(l.serviceName, l.patternId);
        expected.set(k, [...(expected.get(k) ?? []), l]);
      }
      expect(counts).toHaveLength(expected.size);
      for (const c of counts) {
        const group = expected.get(key(c.serviceName, c.patternId)) as LogRecord[];
        expect(c.count).toBe(group.length);
        expect(c.bytes).toBe(group.reduce((s, l) => s + l.body.length, 0));
        expect(c.firstSeenMs).toBe(Math.min(...group.map((l) => l.timeMs)));
        expect(c.lastSeenMs).toBe(Math.max(...group.map((l) => l.timeMs)));
        const sev: Record<string, number> = {};
        for (const l of group) sev[l.severity] = (sev[l.severity] ?? 0) + 1;
        expect(c.severities).toEqual(sev);
        expect(group.map((l) => l.body)).toContain(c.example);
      }
      const rates = await store.logPatternRates(
        q({ filter: { projectIds: ['p1'], patternIds: ['p_health'] } }),
        10 * MIN,
      );
      const total = rates.reduce((s, r) => s + r.count, 0);
      expect(total).toBe(mine.filter((l) => l.patternId === 'p_health').length);
      for (const r of rates) expect(r.bucketStartMs % (10 * MIN)).toBe(0);
    });

    it('retention removes old log records', async () => {
      const logs = Array.from({ length: 100 }, (_, i) => makeLog(i, { timeMs: BASE - 3 * 86_400_000 + i * 3_600_000 }));
      await store.appendBatch({ llmCalls: [], spans: [], logs });
      const cut = BASE - 86_400_000;
      await store.deleteBefore(cut);
      const left = await all({ fromMs: 0, toMs: BASE + 10 * 86_400_000, filter: {}, limit: 1000 });
      expect(left.map((l) => l.id).sort()).toEqual(
        logs
          .filter((l) => l.timeMs >= cut)
          .map((l) => l.id)
          .sort(),
      );
    });
  });
}
