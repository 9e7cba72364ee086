/**
 * The quota limiter contract, run on the in-process limiter (`limiter.test.ts`) and on Redis
 * (`redis-limiter.cluster.test.ts`). The property: whatever the interleaving of reserve, settle,
 * clock moves and expiry, the reservations held plus the usage charged in any window never exceed
 * the limit. An independent model of the reservations (times, amounts, outcomes) checks it after
 * every admitted reservation.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { bucketMsOf, type CounterDraw, type QuotaLimiter, type QuotaRule } from './quota-core.js';

type Op =
  | { kind: 'reserve'; amount: number; ttlMs: number }
  | { kind: 'settle'; pick: number; fraction: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'expire' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      amount: fc.integer({ min: 1, max: 40 }),
      ttlMs: fc.integer({ min: 1, max: 5_000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      pick: fc.nat(),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
);

interface Admitted {
  atMs: number;
  amount: number;
  expiresAtMs: number;
  /** null while held; the charged amount once settled or expired. */
  charged: number | null;
  id: string;
}

function drawOf(rule: QuotaRule, amount: number): CounterDraw {
  return {
    counterId: rule.id,
    ruleId: rule.id,
    metric: rule.metric,
    limit: rule.limit,
    windowMs: rule.windowMs,
    bucketMs: bucketMsOf(rule),
    sliding: rule.window === 'sliding',
    amount,
  };
}

/**
 * Usage the model says is held or charged inside the window that a check at `t` covers. A
 * reservation expired for longer than `graceMs` counts as charged its worst case; a limiter may
 * release one up to a second late (keeping it held, the safe side), hence the grace on refusals.
 */
function modelUsage(rule: QuotaRule, admitted: readonly Admitted[], t: number, graceMs = 0): number {
  let sum = 0;
  // On refusals, a sliding window may count the whole bucket its start falls in (the safe side).
  const bucketMs = bucketMsOf(rule);
  const start = graceMs > 0 ? Math.floor((t - rule.windowMs) / bucketMs) * bucketMs - 1 : t - rule.windowMs;
  for (const a of admitted) {
    const expired = a.charged == null && a.expiresAtMs <= t - graceMs;
    const charged = expired ? a.amount : a.charged;
    const held = charged == null;
    const inWindow =
      rule.window === 'fixed' ? Math.floor(a.atMs / rule.windowMs) === Math.floor(t / rule.windowMs) : a.atMs > start;
    if (held || inWindow) sum += held ? a.amount : charged;
  }
  return sum;
}

export function limiterContract(make: () => Promise<QuotaLimiter & { clear?(): Promise<void> }>, runs = 60): void {
  for (const window of ['fixed', 'sliding'] as const) {
    it(`never lets held plus charged usage exceed a ${window}-window limit, whatever the interleaving`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 60 }),
          fc.integer({ min: 20, max: 120 }),
          async (ops, limit) => {
            const limiter = await make();
            const rule: QuotaRule = {
              id: `r-${window}`,
              description: '',
              scope: {},
              metric: 'tokens',
              limit,
              windowMs: 4_000,
              window,
              enabled: true,
            };
            let now = 1_000_000;
            const admitted: Admitted[] = [];
            let n = 0;
            try {
              for (const op of ops) {
                if (op.kind === 'advance') now += op.ms;
                else if (op.kind === 'expire') {
                  await limiter.expire(now);
                  // The model charges what has expired by now (the limiter may do so later: the safe side).
                } else if (op.kind === 'reserve') {
                  const id = `res-${n++}`;
                  const out = await limiter.reserve([drawOf(rule, op.amount)], id, now, op.ttlMs);
                  if (out.ok) {
                    admitted.push({ atMs: now, amount: op.amount, expiresAtMs: now + op.ttlMs, charged: null, id });
                    // Everything held, plus what was charged in the window, with this one included.
                    expect(modelUsage(rule, admitted, now)).toBeLessThanOrEqual(limit + 1e-9);
                  } else {
                    expect(out.retryAfterMs).toBeGreaterThan(0);
                    // A refusal is right only when the amount does not fit what the model counts.
                    expect(modelUsage(rule, admitted, now, 1_000) + op.amount).toBeGreaterThan(limit - 1e-9);
                  }
                } else {
                  const held = admitted.filter((a) => a.charged == null);
                  if (held.length === 0) continue;
                  const a = held[op.pick % held.length] as Admitted;
                  const actual = Math.floor(a.amount * op.fraction);
                  const out = await limiter.settle(a.id, { requests: 1, tokens: actual, costUsd: 0 }, now);
                  if (a.expiresAtMs <= now) {
                    expect(out.ok).toBe(false);
                    a.charged = a.amount;
                  } else {
                    expect(out.ok).toBe(true);
                    a.charged = actual;
                  }
                }
              }
            } finally {
              await limiter.clear?.();
              await limiter.close();
            }
          },
        ),
        { numRuns: runs },
      );
    });
  }

  it('refuses with the time until room frees, then admits once the window moved on', async () => {
    const limiter = await make();
    try {
      const rule: QuotaRule = {
        id: 'rq',
        description: '',
        scope: {},
        metric: 'requests',
        limit: 2,
        windowMs: 60_000,
        window: 'fixed',
        enabled: true,
      };
      const t0 = 6_000_000;
      expect((await limiter.reserve([drawOf(rule, 1)], 'a', t0 + 10_000, 30_000)).ok).toBe(true);
      const b = await limiter.reserve([drawOf(rule, 1)], 'b', t0 + 10_000, 30_000);
      expect(b.ok && b.counters[0]?.remaining).toBe(0);
      const c = await limiter.reserve([drawOf(rule, 1)], 'c', t0 + 20_000, 30_000);
      expect(c.ok).toBe(false);
      if (!c.ok) {
        expect(c.retryAfterMs).toBe(40_000);
        expect(c.refusedBy).toMatchObject({ ruleId: 'rq', remaining: 0, limit: 2 });
      }
      expect(await limiter.settle('a', { requests: 1, tokens: 0, costUsd: 0 }, t0 + 21_000)).toEqual({ ok: true });
      expect(await limiter.settle('b', { requests: 1, tokens: 0, costUsd: 0 }, t0 + 21_000)).toEqual({ ok: true });
      expect(await limiter.settle('b', { requests: 1, tokens: 0, costUsd: 0 }, t0 + 21_000)).toEqual({
        ok: false,
        reason: 'unknown',
      });
      expect((await limiter.reserve([drawOf(rule, 1)], 'd', t0 + 30_000, 30_000)).ok).toBe(false);
      expect((await limiter.reserve([drawOf(rule, 1)], 'e', t0 + 60_000, 30_000)).ok).toBe(true);
    } finally {
      await limiter.clear?.();
      await limiter.close();
    }
  });

  it('refuses every reservation against a limit of 0 (a budget block), without holding anything', async () => {
    const limiter = await make();
    try {
      const block: QuotaRule = {
        id: 'budget.b.percent-100',
        description: '',
        scope: {},
        metric: 'requests',
        limit: 0,
        windowMs: 60_000,
        window: 'fixed',
        enabled: true,
      };
      const open: QuotaRule = { ...block, id: 'open', limit: 10 };
      const t0 = 9_000_000;
      for (const id of ['x', 'y']) {
        const r = await limiter.reserve([drawOf(open, 1), drawOf(block, 1)], id, t0, 30_000);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.refusedBy).toMatchObject({ ruleId: 'budget.b.percent-100', limit: 0, remaining: 0 });
      }
      // Nothing was taken from the other quota by the refused reservations.
      const r = await limiter.reserve([drawOf(open, 10)], 'z', t0, 30_000);
      expect(r.ok).toBe(true);
    } finally {
      await limiter.clear?.();
      await limiter.close();
    }
  });

  it('releases the difference on settle and charges an expired reservation its worst case', async () => {
    const limiter = await make();
    try {
      const rule: QuotaRule = {
        id: 'rt',
        description: '',
        scope: {},
        metric: 'tokens',
        limit: 1_000,
        windowMs: 3_600_000,
        window: 'sliding',
        enabled: true,
      };
      const t0 = 36_000_000;
      expect((await limiter.reserve([drawOf(rule, 800)], 'a', t0, 10_000)).ok).toBe(true);
      expect((await limiter.reserve([drawOf(rule, 300)], 'b', t0, 10_000)).ok).toBe(false);
      await limiter.settle('a', { requests: 1, tokens: 100, costUsd: 0 }, t0 + 1);
      const b = await limiter.reserve([drawOf(rule, 300)], 'b', t0 + 2, 10_000);
      expect(b.ok && b.counters[0]?.remaining).toBe(600);
      // b is never settled: once expired it counts its full 300.
      await limiter.expire(t0 + 20_000);
      expect(await limiter.settle('b', { requests: 1, tokens: 1, costUsd: 0 }, t0 + 20_000)).toEqual({
        ok: false,
        reason: 'unknown',
      });
      const c = await limiter.reserve([drawOf(rule, 601)], 'c', t0 + 20_000, 10_000);
      expect(c.ok).toBe(false);
      const d = await limiter.reserve([drawOf(rule, 600)], 'd', t0 + 20_000, 10_000);
      expect(d.ok && d.counters[0]?.remaining).toBe(0);
    } finally {
      await limiter.clear?.();
      await limiter.close();
    }
  });

  it('reports the reserved and settled usage of each counter of a rule', async () => {
    const limiter = await make();
    try {
      const rule: QuotaRule = {
        id: 'ru',
        description: '',
        scope: { user: '*' },
        metric: 'tokens',
        limit: 1_000,
        windowMs: 60_000,
        window: 'sliding',
        enabled: true,
      };
      const t0 = 120_000_000;
      const draw = (user: string, amount: number) => ({ ...drawOf(rule, amount), counterId: `ru|user=${user}` });
      await limiter.reserve([draw('a', 800)], 'a1', t0, 10_000);
      await limiter.reserve([draw('b', 50)], 'b1', t0, 10_000);
      await limiter.reserve([{ ...drawOf(rule, 5), counterId: 'rux', ruleId: 'rux' }], 'x1', t0, 10_000);
      await limiter.settle('a1', { requests: 1, tokens: 100, costUsd: 0 }, t0 + 1);
      const spec = { ruleId: 'ru', windowMs: 60_000, bucketMs: bucketMsOf(rule), sliding: true };
      const u = (await limiter.usage([spec], t0 + 2)).sort((x, y) => x.counterId.localeCompare(y.counterId));
      expect(u.map((c) => [c.counterId, c.reserved, c.settled])).toEqual([
        ['ru|user=a', 0, 100],
        ['ru|user=b', 50, 0],
      ]);
      // Once the window has passed, the settled usage no longer counts.
      await limiter.settle('b1', { requests: 1, tokens: 0, costUsd: 0 }, t0 + 3);
      expect(await limiter.usage([spec], t0 + 120_000)).toEqual([]);
    } finally {
      await limiter.clear?.();
      await limiter.close();
    }
  });
}
