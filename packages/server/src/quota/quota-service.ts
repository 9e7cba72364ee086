/**
 * Reserve-before-call and settle-after: turns a call's worst case (input tokens plus
 * `max_tokens` at the model's price) into draws on the counters of the rules that apply, and the
 * actual usage into a settle. Rules are held in memory and refreshed from the state table by a
 * node job, so a quota answer touches neither the state database nor the telemetry store.
 */
import { randomUUID } from 'node:crypto';
import { type AppError, appError, type Clock, err, ok, type PriceBook, type Result } from '@reskpoints/core';
import {
  type Amounts,
  actualCostUsd,
  bucketMsOf,
  type CallDimensions,
  type CounterState,
  counterDimensions,
  drawsFor,
  type QuotaDimension,
  type QuotaLimiter,
  type QuotaRule,
  worstCaseCostUsd,
} from './quota-core.js';
import type { QuotaRepo, StoredQuotaRule } from './quota-repo.js';

export interface ReserveRequest {
  projectId: string;
  provider: string;
  model: string;
  inputTokens: number;
  maxTokens: number;
  user?: string | undefined;
  key?: string | undefined;
  ttlMs?: number | undefined;
}

export interface ReserveGranted {
  reservationId: string;
  expiresAtMs: number;
  worstCase: Amounts;
  counters: CounterState[];
}

export interface ReserveRefused {
  retryAfterMs: number;
  refusedBy: CounterState;
  worstCase: Amounts;
  counters: CounterState[];
}

/** One counter of a quota: the usage a reservation made now would be checked against. */
export interface CounterUsageView {
  counter: string;
  /** The `*` dimension values this counter is kept for. */
  dimensions: Partial<Record<QuotaDimension, string>>;
  used: number;
  reserved: number;
  settled: number;
  remaining: number;
  /** used / limit. */
  utilization: number;
  resetSeconds: number;
}

export interface QuotaUsage {
  quota: StoredQuotaRule;
  /** Counters holding usage now, fullest first (none: nothing used in this window). */
  counters: CounterUsageView[];
  /** The fullest counter's utilization (0 when none). */
  maxUtilization: number;
}

export interface SettleRequest {
  reservationId: string;
  inputTokens: number;
  outputTokens: number;
  /** The call's cost when the caller knows it; otherwise priced from the tokens. */
  costUsd?: number | undefined;
}

/** What a reservation id carries so any node can settle it: who, which model, when. */
interface ReservationTag {
  projectId: string;
  provider: string;
  model: string;
  atMs: number;
}

/**
 * A reservation id is `rsv_<random>.<tag>.<atMs base 36>`, the tag being the base64url JSON of
 * [projectId, provider, model]: any node can settle it without shared state. Tags are cached
 * both ways, as few distinct ones recur at a high rate.
 */
const TAG_CACHE_MAX = 10_000;

function decodeTagPart(part: string): [string, string, string] | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'string')) return null;
    return v as [string, string, string];
  } catch {
    return null;
  }
}

export interface QuotaServiceOptions {
  limiter: QuotaLimiter;
  repo: QuotaRepo;
  prices: () => PriceBook;
  clock: Clock;
  defaultTtlMs: () => number;
}

export class QuotaService {
  private rules: readonly StoredQuotaRule[] = [];

  private readonly tags = new Map<string, string>();
  private readonly untags = new Map<string, [string, string, string]>();

  constructor(private readonly opts: QuotaServiceOptions) {}

  private encodeTag(projectId: string, provider: string, model: string): string {
    const key = `${projectId}\u0000${provider}\u0000${model}`;
    let tag = this.tags.get(key);
    if (tag === undefined) {
      tag = Buffer.from(JSON.stringify([projectId, provider, model])).toString('base64url');
      if (this.tags.size >= TAG_CACHE_MAX) this.tags.clear();
      this.tags.set(key, tag);
    }
    return tag;
  }

  private decodeTag(id: string): ReservationTag | null {
    const first = id.indexOf('.');
    const last = id.lastIndexOf('.');
    if (!id.startsWith('rsv_') || first < 0 || last <= first) return null;
    const atMs = Number.parseInt(id.slice(last + 1), 36);
    if (!Number.isFinite(atMs)) return null;
    const part = id.slice(first + 1, last);
    let t = this.untags.get(part);
    if (t === undefined) {
      const decoded = decodeTagPart(part);
      if (decoded == null) return null;
      t = decoded;
      if (this.untags.size >= TAG_CACHE_MAX) this.untags.clear();
      this.untags.set(part, t);
    }
    return { projectId: t[0], provider: t[1], model: t[2], atMs };
  }

  /** Reloads the rules from the state table (a node job; also after each change on this node). */
  async refresh(): Promise<void> {
    this.rules = await this.opts.repo.list();
  }

  nowMs(): number {
    return this.opts.clock.nowMs();
  }

  get limiter(): QuotaLimiter {
    return this.opts.limiter;
  }

  listRules(): readonly StoredQuotaRule[] {
    return this.rules;
  }

  async putRule(rule: QuotaRule): Promise<StoredQuotaRule> {
    const stored = await this.opts.repo.put(rule, this.opts.clock.nowMs());
    await this.refresh();
    return stored;
  }

  async deleteRule(id: string): Promise<boolean> {
    const deleted = await this.opts.repo.delete(id);
    await this.refresh();
    return deleted;
  }

  async reserve(
    r: ReserveRequest,
  ): Promise<Result<{ granted: true; value: ReserveGranted } | { granted: false; value: ReserveRefused }, AppError>> {
    const nowMs = this.opts.clock.nowMs();
    const dims: CallDimensions = { project: r.projectId, key: r.key ?? null, user: r.user ?? null, model: r.model };
    const tokens = r.inputTokens + r.maxTokens;
    // Price only when a cost rule applies: an unpriced model is fine for request and token quotas.
    const draft = drawsFor(this.rules, dims, { requests: 1, tokens, costUsd: 0 }, nowMs);
    let costUsd = 0;
    if (draft.some((d) => d.metric === 'costUsd')) {
      const worst = worstCaseCostUsd(this.opts.prices(), { ...r, atMs: nowMs }, r.inputTokens, r.maxTokens);
      if (worst == null) {
        const rule = draft.find((d) => d.metric === 'costUsd')?.ruleId;
        return err(
          appError(
            'RP_VALIDATION',
            `model ${r.provider}/${r.model} has no price in the price book, so cost quota ${rule} cannot bound the call; add a price entry`,
          ),
        );
      }
      costUsd = worst;
    }
    const worstCase: Amounts = { requests: 1, tokens, costUsd };
    const draws = draft;
    if (costUsd !== 0) for (const d of draws) if (d.metric === 'costUsd') d.amount = costUsd;
    // A limit of 0 is a block (a budget's action): refused with 429 below, not a bad request.
    const never = draws.find((d) => d.limit > 0 && d.amount > d.limit);
    if (never != null)
      return err(
        appError(
          'RP_VALIDATION',
          `the call's worst case (${never.amount} ${never.metric}) exceeds quota ${never.ruleId}'s whole limit of ${never.limit}; lower max_tokens`,
        ),
      );
    const id = `rsv_${randomUUID().replaceAll('-', '')}.${this.encodeTag(r.projectId, r.provider, r.model)}.${nowMs.toString(36)}`;
    const out = await this.opts.limiter.reserve(draws, id, nowMs, r.ttlMs ?? this.opts.defaultTtlMs());
    if (out.ok)
      return ok({
        granted: true,
        value: { reservationId: id, expiresAtMs: out.expiresAtMs, worstCase, counters: out.counters },
      });
    // A block lasts until its rule ends (a budget's period end), not until its window turns.
    const blocking = out.refusedBy.limit === 0 ? this.rules.find((x) => x.id === out.refusedBy.ruleId) : undefined;
    const retryAfterMs = blocking?.expiresAtMs != null ? Math.max(1, blocking.expiresAtMs - nowMs) : out.retryAfterMs;
    return ok({
      granted: false,
      value: { retryAfterMs, refusedBy: out.refusedBy, worstCase, counters: out.counters },
    });
  }

  /**
   * Usage against limits per quota, read from the accounting (memory or Redis), never from the
   * telemetry store. `projectId` set: only the quotas scoped to that project (literally or
   * per project with `*`), and of a `*` quota only that project's counters.
   */
  async usage(projectId: string | null): Promise<QuotaUsage[]> {
    const rules = this.rules.filter(
      (r) => projectId == null || r.scope.project === projectId || r.scope.project === '*',
    );
    const counters = await this.opts.limiter.usage(
      rules.map((r) => ({
        ruleId: r.id,
        windowMs: r.windowMs,
        bucketMs: bucketMsOf(r),
        sliding: r.window === 'sliding',
      })),
      this.opts.clock.nowMs(),
    );
    return rules.map((quota) => {
      const views: CounterUsageView[] = [];
      for (const c of counters) {
        if (c.ruleId !== quota.id) continue;
        const dimensions = counterDimensions(c.counterId, quota.id);
        if (projectId != null && quota.scope.project === '*' && dimensions.project !== projectId) continue;
        const used = c.reserved + c.settled;
        views.push({
          counter: c.counterId,
          dimensions,
          used,
          reserved: c.reserved,
          settled: c.settled,
          remaining: Math.max(0, quota.limit - used),
          utilization: quota.limit > 0 ? used / quota.limit : 1,
          resetSeconds: Math.ceil(c.resetMs / 1000),
        });
      }
      views.sort((a, b) => b.utilization - a.utilization || a.counter.localeCompare(b.counter));
      return { quota, counters: views, maxUtilization: views[0]?.utilization ?? 0 };
    });
  }

  /** `projectId` null: an admin may settle any project's reservation. */
  async settle(s: SettleRequest, projectId: string | null): Promise<Result<{ actual: Amounts }, AppError>> {
    const tag = this.decodeTag(s.reservationId);
    if (tag == null) return err(appError('RP_VALIDATION', `reservationId: ${s.reservationId} is not a reservation id`));
    if (projectId != null && tag.projectId !== projectId)
      return err(appError('RP_FORBIDDEN', `reservation ${s.reservationId} belongs to another project`));
    let costUsd = s.costUsd;
    if (costUsd == null) costUsd = actualCostUsd(this.opts.prices(), tag, s.inputTokens, s.outputTokens) ?? 0;
    const actual: Amounts = { requests: 1, tokens: s.inputTokens + s.outputTokens, costUsd };
    const out = await this.opts.limiter.settle(s.reservationId, actual, this.opts.clock.nowMs());
    if (!out.ok)
      return err(
        appError(
          'RP_CONFLICT',
          `reservation ${s.reservationId} is unknown, already settled or expired (an expired reservation is charged its worst case)`,
        ),
      );
    return ok({ actual });
  }
}
