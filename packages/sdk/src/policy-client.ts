/**
 * Fetches and caches the service's sampling policy. Uses the ETag so an unchanged policy costs a
 * 304; when the server is unreachable, or answers with a policy that fails the safety checks, the
 * last good policy stays in force — and before any, every line is kept.
 */
import {
  CompiledPolicy,
  type PolicyProblem,
  type SamplingPolicy,
  samplingPolicySchema,
  validatePolicySafety,
} from '@reskpoints/core';
import { authHeaders, endpoint, type ReskPointsLogOptions } from './options.js';

export type PolicyFetchOutcome = 'updated' | 'unchanged' | 'none' | 'unreachable' | 'rejected';

export class PolicyClient {
  private compiled: CompiledPolicy;
  private etag: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Outcome of the last fetch, for diagnostics. */
  lastOutcome: PolicyFetchOutcome | null = null;
  lastError: string | null = null;

  constructor(private readonly opts: ReskPointsLogOptions) {
    this.compiled = new CompiledPolicy(PolicyClient.keepAll(opts.service));
  }

  static keepAll(service: string): SamplingPolicy {
    return { service, alwaysKeepFrom: 'warn', defaultRate: 1, rules: [] };
  }

  get policy(): CompiledPolicy {
    return this.compiled;
  }

  /** Puts a policy in force without fetching (a local policy); returns its safety problems and keeps the old one if any. */
  set(policy: SamplingPolicy): PolicyProblem[] {
    const parsed = samplingPolicySchema.safeParse(policy);
    if (!parsed.success) return parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const problems = validatePolicySafety(parsed.data);
    if (problems.length === 0) this.compiled = new CompiledPolicy(parsed.data);
    return problems;
  }

  /** Fetches once. Never throws. */
  async refresh(): Promise<PolicyFetchOutcome> {
    const f = this.opts.fetch ?? fetch;
    const headers: Record<string, string> = { ...authHeaders(this.opts), accept: 'application/json' };
    if (this.etag) headers['if-none-match'] = this.etag;
    let outcome: PolicyFetchOutcome;
    try {
      const res = await f(endpoint(this.opts, `/api/v1/policies/${encodeURIComponent(this.opts.service)}`), {
        headers,
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      if (res.status === 304) outcome = 'unchanged';
      else if (res.status === 404) {
        // No policy for this service: keep everything.
        this.compiled = new CompiledPolicy(PolicyClient.keepAll(this.opts.service));
        this.etag = null;
        outcome = 'none';
      } else if (!res.ok) {
        this.lastError = `HTTP ${res.status}`;
        outcome = 'unreachable';
      } else {
        const body = (await res.json()) as { policy?: unknown };
        const parsed = samplingPolicySchema.safeParse(body.policy ?? body);
        const problems = parsed.success ? validatePolicySafety(parsed.data) : [];
        if (!parsed.success || problems.length > 0) {
          this.lastError = parsed.success
            ? problems.map((p) => `${p.path}: ${p.message}`).join('; ')
            : parsed.error.message;
          outcome = 'rejected';
        } else {
          this.compiled = new CompiledPolicy(parsed.data);
          this.etag = res.headers.get('etag');
          outcome = 'updated';
        }
      }
    } catch (e) {
      this.lastError = (e as Error).message;
      outcome = 'unreachable';
    }
    this.lastOutcome = outcome;
    return outcome;
  }

  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.policyRefreshMs ?? 60_000);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
