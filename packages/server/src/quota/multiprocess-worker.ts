/**
 * A worker process of `quota-multiprocess.cluster.test.ts`: reads one job per stdin line (a
 * Redis namespace, a limit and a list of calls), runs the calls on several concurrent lanes
 * against the shared Redis limit — reserve, maybe settle after a delay, now and then a sweep of
 * expired reservations — and prints one line with what happened and when (wall-clock ms, the
 * same clock for every process on this machine).
 */
import { createInterface } from 'node:readline';
import { bucketMsOf, type CounterDraw, type QuotaRule } from './quota-core.js';
import { RedisQuotaLimiter } from './redis-limiter.js';

export interface WorkerCall {
  amount: number;
  ttlMs: number;
  /** null: never settled (it expires). */
  settleAfterMs: number | null;
  fraction: number;
  sweep: boolean;
}

export interface WorkerJob {
  url: string;
  prefix: string;
  rule: QuotaRule;
  lanes: number;
  calls: WorkerCall[];
}

export interface CallRecord {
  id: string;
  amount: number;
  reserveStart: number;
  reserveEnd: number;
  granted: boolean;
  settleStart: number | null;
  /** True when the settle was accepted (the actual amount was charged). */
  settled: boolean;
  actual: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runJob(job: WorkerJob, worker: string): Promise<CallRecord[]> {
  const limiter = new RedisQuotaLimiter({ url: job.url, prefix: job.prefix });
  const draw: CounterDraw = {
    counterId: job.rule.id,
    ruleId: job.rule.id,
    metric: job.rule.metric,
    limit: job.rule.limit,
    windowMs: job.rule.windowMs,
    bucketMs: bucketMsOf(job.rule),
    sliding: job.rule.window === 'sliding',
    amount: 0,
  };
  const records: CallRecord[] = [];
  let next = 0;
  const lane = async () => {
    while (next < job.calls.length) {
      const i = next++;
      const c = job.calls[i] as WorkerCall;
      const id = `${worker}-${i}`;
      if (c.sweep) await limiter.expire(Date.now());
      const reserveStart = Date.now();
      const out = await limiter.reserve([{ ...draw, amount: c.amount }], id, reserveStart, c.ttlMs);
      const rec: CallRecord = {
        id,
        amount: c.amount,
        reserveStart,
        reserveEnd: Date.now(),
        granted: out.ok,
        settleStart: null,
        settled: false,
        actual: c.amount,
      };
      records.push(rec);
      if (!out.ok || c.settleAfterMs == null) continue;
      await sleep(c.settleAfterMs);
      const actual = Math.floor(c.amount * c.fraction);
      rec.settleStart = Date.now();
      const s = await limiter.settle(id, { requests: 1, tokens: actual, costUsd: 0 }, rec.settleStart);
      if (s.ok) {
        rec.settled = true;
        rec.actual = actual;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: job.lanes }, lane));
  } finally {
    await limiter.close();
  }
  return records;
}

const worker = process.argv[2] ?? 'w';
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  runJob(JSON.parse(line) as WorkerJob, worker).then(
    (records) => process.stdout.write(`${JSON.stringify({ ok: true, records })}\n`),
    (e: unknown) => process.stdout.write(`${JSON.stringify({ ok: false, error: String(e) })}\n`),
  );
});
