/**
 * Several processes share one Redis quota and race on it: each runs concurrent lanes of
 * reserve, settle (some after their reservation expired, some never) and expiry sweeps. Whatever
 * fast-check generates, no admission can have seen room that was not there: for every granted
 * reservation, what was certainly held or charged before it, plus itself, fits in the limit; and
 * at the end the counter holds exactly what the processes' records say was charged, within the
 * limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord, WorkerCall, WorkerJob } from './multiprocess-worker.js';
import { bucketMsOf, type QuotaRule } from './quota-core.js';
import { RedisQuotaLimiter } from './redis-limiter.js';

const REDIS_URL = process.env['RESKPOINTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PROCESSES = 3;

interface Worker {
  proc: ChildProcess;
  lines: Interface;
  pending: ((line: string) => void)[];
}

let workers: Worker[] = [];

beforeAll(() => {
  workers = Array.from({ length: PROCESSES }, (_, i) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, 'multiprocess-worker.ts'), `p${i}`],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    const w: Worker = { proc, lines, pending: [] };
    lines.on('line', (line) => w.pending.shift()?.(line));
    return w;
  });
});

afterAll(() => {
  for (const w of workers) w.proc.kill();
});

function run(w: Worker, job: WorkerJob): Promise<CallRecord[]> {
  return new Promise((ok, fail) => {
    w.pending.push((line) => {
      const r = JSON.parse(line) as { ok: boolean; records?: CallRecord[]; error?: string };
      if (r.ok) ok(r.records as CallRecord[]);
      else fail(new Error(r.error));
    });
    w.proc.stdin?.write(`${JSON.stringify(job)}\n`);
  });
}

const callArb: fc.Arbitrary<WorkerCall> = fc.record({
  amount: fc.integer({ min: 1, max: 40 }),
  ttlMs: fc.integer({ min: 5, max: 250 }),
  settleAfterMs: fc.option(fc.integer({ min: 0, max: 120 }), { freq: 4 }),
  fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  sweep: fc.nat(5).map((n) => n === 0),
});

describe('Redis quota shared by several processes', () => {
  let granted = 0;
  let refused = 0;
  it('never admits a reservation that does not fit, whatever the interleaving across processes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 30, max: 200 }),
        fc.constantFrom<'fixed' | 'sliding'>('fixed', 'sliding'),
        fc.array(fc.array(callArb, { minLength: 5, maxLength: 30 }), { minLength: PROCESSES, maxLength: PROCESSES }),
        async (limit, window, plans) => {
          const rule: QuotaRule = {
            id: 'shared',
            description: '',
            scope: {},
            metric: 'tokens',
            limit,
            // Long enough that no usage leaves the window during a run (a fixed window that
            // starts during the run would let usage go; the run is a few seconds at most).
            windowMs: window === 'fixed' ? 366 * 86_400_000 : 3_600_000,
            window,
            enabled: true,
          };
          const prefix = `rp-mp-${randomUUID()}`;
          const all = (
            await Promise.all(
              workers.map((w, i) => run(w, { url: REDIS_URL, prefix, rule, lanes: 4, calls: plans[i] ?? [] })),
            )
          ).flat();
          const admitted = all.filter((r) => r.granted);
          granted += admitted.length;
          refused += all.length - admitted.length;
          for (const g of admitted) {
            // Certainly before g: reservations answered before g was asked. Possibly released
            // before g: settles begun before g was answered or in the same millisecond
            // (subtracting them keeps it a lower bound; the clock has millisecond resolution).
            let certain = 0;
            for (const h of admitted) {
              if (h !== g && h.reserveEnd >= g.reserveStart) continue;
              certain += h.amount;
              if (h.settled && (h.settleStart as number) <= g.reserveEnd) certain -= h.amount - h.actual;
            }
            expect(certain).toBeLessThanOrEqual(limit);
          }
          const charged = admitted.reduce((s, r) => s + (r.settled ? r.actual : r.amount), 0);
          const limiter = new RedisQuotaLimiter({ url: REDIS_URL, prefix });
          try {
            const usage = await limiter.usage(
              [
                {
                  ruleId: 'shared',
                  windowMs: rule.windowMs,
                  bucketMs: bucketMsOf(rule),
                  sliding: window === 'sliding',
                },
              ],
              Date.now(),
            );
            const held = usage.reduce((s, c) => s + c.reserved + c.settled, 0);
            expect(held).toBeCloseTo(charged, 6);
            expect(held).toBeLessThanOrEqual(limit + 1e-9);
          } finally {
            await limiter.clear();
            await limiter.close();
          }
        },
      ),
      // Timing-dependent runs do not shrink meaningfully: report the first counterexample.
      { numRuns: 15, endOnFailure: true },
    );
    // The runs did race for the limit: some calls were granted, some refused.
    expect(refused).toBeGreaterThan(0);
    expect(granted).toBeGreaterThan(0);
  });
});
