/**
 * Cluster-mode quota accounting in Redis: the same arithmetic as the in-process limiter, in Lua
 * scripts that Redis runs atomically, so reservations from any number of nodes never overrun a
 * limit together. All keys share one hash tag (`{prefix}`), so they live in one slot and the
 * scripts may touch reservations they find expired (Redis Cluster included).
 *
 * Keys: `{p}:c:<counter>` a hash (`r` = reserved, `<bucket index>` = settled usage);
 * `{p}:res:<id>` a reservation (JSON: expiry and draws); `{p}:exp` a sorted set of reservation
 * ids by expiry.
 */
import { Redis } from 'ioredis';
import {
  type Amounts,
  type CounterDraw,
  type CounterState,
  type CounterUsage,
  counterBelongsTo,
  firstBucket,
  type QuotaLimiter,
  type ReserveOutcome,
  type SettleOutcome,
  type UsageSpec,
} from './quota-core.js';

// Charges expired reservations their worst case (up to ARGV-given max), shared by every script.
const SWEEP = `
local function charge(resKey, p)
  local raw = redis.call('GET', resKey)
  if not raw then return end
  local res = cjson.decode(raw)
  for _, d in ipairs(res.d) do
    local ck = p .. ':c:' .. d[1]
    redis.call('HINCRBYFLOAT', ck, 'r', '-' .. d[2])
    if tonumber(d[2]) > 0 then redis.call('HINCRBYFLOAT', ck, tostring(d[3]), d[2]) end
  end
  redis.call('DEL', resKey)
end
local function sweep(expKey, p, now, max)
  local ids = redis.call('ZRANGEBYSCORE', expKey, '-inf', now, 'LIMIT', 0, max)
  for _, id in ipairs(ids) do
    charge(p .. ':res:' .. id, p)
    redis.call('ZREM', expKey, id)
  end
  return #ids
end
`;

// KEYS[1] = expiry zset, KEYS[2] = reservation key, KEYS[3..] = counter keys.
// ARGV: prefix, now, reservation id, expiresAt, keepMs, then per counter: limit, windowMs,
// bucketMs, sliding (0/1), amount, counter id, metric.
const RESERVE = `${SWEEP}
local p = ARGV[1]
-- Time never goes back for the counters: nodes' clocks differ a little, and an earlier 'now'
-- after buckets were dropped for a later one would undercount.
local now = tonumber(ARGV[2])
local seen = tonumber(redis.call('GET', p .. ':now') or '0')
if seen > now then now = seen else redis.call('SET', p .. ':now', ARGV[2]) end
sweep(KEYS[1], p, now, 100)
local n = #KEYS - 2
local out = {}
local refused = 0
local refusedWait = 0
local draws = {}
for i = 1, n do
  local base = 5 + (i - 1) * 7
  local limit = tonumber(ARGV[base + 1])
  local windowMs = tonumber(ARGV[base + 2])
  local bucketMs = tonumber(ARGV[base + 3])
  local sliding = ARGV[base + 4] == '1'
  local amount = tonumber(ARGV[base + 5])
  local ck = KEYS[i + 2]
  local first
  if sliding then first = math.floor((now - windowMs) / bucketMs) else first = math.floor(now / bucketMs) end
  local flat = redis.call('HGETALL', ck)
  local used = 0
  local buckets = {}
  for j = 1, #flat, 2 do
    local f = flat[j]
    local v = tonumber(flat[j + 1])
    if f == 'r' then used = used + v
    else
      local b = tonumber(f)
      if b < first then redis.call('HDEL', ck, f)
      else
        used = used + v
        table.insert(buckets, {b, v})
      end
    end
  end
  local fits = used + amount <= limit + 1e-9
  local cur = math.floor(now / bucketMs)
  local reset = (cur + 1) * bucketMs - now
  local remaining = limit - used
  if fits then remaining = remaining - amount end
  if remaining < 0 then remaining = 0 end
  out[i] = {tostring(remaining), tostring(reset)}
  if not fits then
    local wait
    if not sliding then wait = (cur + 1) * bucketMs - now
    else
      table.sort(buckets, function(a, b) return a[1] < b[1] end)
      local needed = used + amount - limit
      local freed = 0
      wait = windowMs
      for _, bv in ipairs(buckets) do
        freed = freed + bv[2]
        if freed + 1e-9 >= needed then
          wait = (bv[1] + 1) * bucketMs + windowMs - now
          if wait < 1 then wait = 1 end
          break
        end
      end
    end
    if refused == 0 or wait > refusedWait then refused = i; refusedWait = wait end
  end
  draws[i] = {ARGV[base + 6], ARGV[base + 5], cur, ck, ARGV[base + 7]}
end
if refused > 0 then
  local flat = {0, refused, tostring(refusedWait)}
  for i = 1, n do table.insert(flat, out[i][1]); table.insert(flat, out[i][2]) end
  return flat
end
local stored = {}
local keep = tonumber(ARGV[5])
for i = 1, n do
  local d = draws[i]
  redis.call('HINCRBYFLOAT', d[4], 'r', d[2])
  redis.call('PEXPIRE', d[4], keep)
  stored[i] = {d[1], d[2], d[3], d[5]}
end
local expiresAt = tonumber(ARGV[4])
redis.call('SET', KEYS[2], cjson.encode({e = expiresAt, d = stored}), 'PX', keep)
redis.call('ZADD', KEYS[1], expiresAt, ARGV[3])
redis.call('PEXPIRE', p .. ':now', keep)
local flat = {1, 0, '0'}
for i = 1, n do table.insert(flat, out[i][1]); table.insert(flat, out[i][2]) end
return flat
`;

// KEYS[1] = expiry zset, KEYS[2] = reservation key. ARGV: prefix, now, reservation id, then the
// actual amounts (requests, tokens, costUsd); each draw's metric is in the reservation.
const SETTLE = `${SWEEP}
local p = ARGV[1]
local now = tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[2])
if not raw then return 0 end
local res = cjson.decode(raw)
if res.e <= now then
  sweep(KEYS[1], p, now, 100)
  return 0
end
local actual = {requests = tonumber(ARGV[4]), tokens = tonumber(ARGV[5]), costUsd = tonumber(ARGV[6])}
for i, d in ipairs(res.d) do
  local ck = p .. ':c:' .. d[1]
  redis.call('HINCRBYFLOAT', ck, 'r', '-' .. d[2])
  local a = actual[d[4]]
  if a > 0 then redis.call('HINCRBYFLOAT', ck, tostring(d[3]), a) end
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[3])
return 1
`;

const EXPIRE = `${SWEEP}
return sweep(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
`;

type RedisWithScripts = Redis & {
  rpReserve(...args: (string | number)[]): Promise<(string | number)[]>;
  rpSettle(...args: (string | number)[]): Promise<number>;
  rpExpire(...args: (string | number)[]): Promise<number>;
};

export interface RedisQuotaLimiterOptions {
  url: string;
  /** Key namespace; tests use a unique one per run. */
  prefix: string;
}

export class RedisQuotaLimiter implements QuotaLimiter {
  private readonly redis: RedisWithScripts;
  private readonly p: string;
  constructor(opts: RedisQuotaLimiterOptions) {
    this.p = `{${opts.prefix}}`;
    const redis = new Redis(opts.url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    redis.defineCommand('rpReserve', { lua: RESERVE });
    redis.defineCommand('rpSettle', { lua: SETTLE });
    redis.defineCommand('rpExpire', { numberOfKeys: 1, lua: EXPIRE });
    this.redis = redis as RedisWithScripts;
  }

  async reserve(
    draws: readonly CounterDraw[],
    reservationId: string,
    nowMs: number,
    ttlMs: number,
  ): Promise<ReserveOutcome> {
    const expiresAtMs = nowMs + ttlMs;
    let keepMs = ttlMs * 2 + 60_000;
    const args: (string | number)[] = [];
    for (const d of draws) {
      keepMs = Math.max(keepMs, d.windowMs * 2 + ttlMs);
      args.push(d.limit, d.windowMs, d.bucketMs, d.sliding ? 1 : 0, d.amount, d.counterId, d.metric);
    }
    const keys = [`${this.p}:exp`, `${this.p}:res:${reservationId}`, ...draws.map((d) => `${this.p}:c:${d.counterId}`)];
    const r = await this.redis.rpReserve(
      keys.length,
      ...keys,
      this.p,
      nowMs,
      reservationId,
      expiresAtMs,
      keepMs,
      ...args,
    );
    const counters: CounterState[] = draws.map((d, i) => ({
      ruleId: d.ruleId,
      counterId: d.counterId,
      metric: d.metric,
      limit: d.limit,
      windowMs: d.windowMs,
      remaining: Number(r[3 + i * 2]),
      resetMs: Number(r[4 + i * 2]),
    }));
    if (Number(r[0]) === 1) {
      return { ok: true, reservationId, expiresAtMs, counters };
    }
    const refusedBy = counters[Number(r[1]) - 1] as CounterState;
    return { ok: false, refusedBy, retryAfterMs: Number(r[2]), counters };
  }

  async settle(reservationId: string, actual: Amounts, nowMs: number): Promise<SettleOutcome> {
    const r = await this.redis.rpSettle(
      2,
      `${this.p}:exp`,
      `${this.p}:res:${reservationId}`,
      this.p,
      nowMs,
      reservationId,
      actual.requests,
      actual.tokens,
      actual.costUsd,
    );
    return Number(r) === 1 ? { ok: true } : { ok: false, reason: 'unknown' };
  }

  expire(nowMs: number): Promise<number> {
    return this.redis.rpExpire(`${this.p}:exp`, this.p, nowMs, 1000).then(Number);
  }

  async usage(specs: readonly UsageSpec[], atMs: number): Promise<CounterUsage[]> {
    if (specs.length === 0) return [];
    const seen = Number((await this.redis.get(`${this.p}:now`)) ?? 0);
    const nowMs = Math.max(atMs, seen);
    const counterPrefix = `${this.p}:c:`;
    const keys: string[] = [];
    for (const spec of specs) {
      let cursor = '0';
      do {
        const [next, found] = await this.redis.scan(cursor, 'MATCH', `${counterPrefix}${spec.ruleId}*`, 'COUNT', 1000);
        cursor = next;
        for (const k of found) if (counterBelongsTo(k.slice(counterPrefix.length), spec.ruleId)) keys.push(k);
      } while (cursor !== '0');
    }
    const unique = [...new Set(keys)];
    const pipeline = this.redis.pipeline();
    for (const k of unique) pipeline.hgetall(k);
    const results = (await pipeline.exec()) ?? [];
    const out: CounterUsage[] = [];
    unique.forEach((k, i) => {
      const counterId = k.slice(counterPrefix.length);
      const spec = specs.find((s) => counterBelongsTo(counterId, s.ruleId));
      const hash = results[i]?.[1] as Record<string, string> | undefined;
      if (spec == null || hash == null) return;
      const first = firstBucket(nowMs, spec.windowMs, spec.bucketMs, spec.sliding);
      let reserved = 0;
      let settled = 0;
      for (const [f, v] of Object.entries(hash)) {
        if (f === 'r') reserved = Math.max(0, Number(v));
        else if (Number(f) >= first) settled += Number(v);
      }
      if (reserved < 1e-9 && settled === 0) return;
      const cur = Math.floor(nowMs / spec.bucketMs);
      out.push({ ruleId: spec.ruleId, counterId, reserved, settled, resetMs: (cur + 1) * spec.bucketMs - nowMs });
    });
    return out;
  }

  /** Deletes every key of this namespace (tests). */
  async clear(): Promise<void> {
    const keys = await this.redis.keys(`${this.p}:*`);
    if (keys.length > 0) await this.redis.del(...keys);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
