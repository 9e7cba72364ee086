/**
 * Periodic jobs. A job is either
 * - `leader`: runs once per cluster, on the node holding the leader lease, with the lease's
 *   fencing token; its cadence is kept in `rp_job_runs` (state database), so a restart or a
 *   change of leader neither repeats a run early nor skips one; or
 * - `node`: runs on every node that has it (local caches, per-node housekeeping).
 *
 * Time comes from the injected clock and nothing happens between `tick()` calls, so tests
 * drive the schedule with a fake clock: `clock.advance(ms); await scheduler.tick()`. In the
 * app, `start()` calls `tick()` on a real timer. A failing job is logged and retried at its
 * next due time; no exception leaves the scheduler.
 */
import type { Clock } from '@reskpoints/core';
import type { LeaderLease } from '../store/ports.js';
import { checkFence, type Fence, StaleFenceError } from './fencing.js';
import type { SqlDatabase } from './sql.js';

export type JobScope = 'leader' | 'node';

export interface JobContext {
  /** Clock time the run started at, epoch ms. */
  nowMs: number;
  /** Leader jobs: the lease and token this run holds; pass it to `fencedTransaction` when writing state. Null for node jobs. */
  fence: Fence | null;
  /** Aborted when this node loses the lease (seen at a later tick) or the scheduler stops. */
  signal: AbortSignal;
}

export interface JobDefinition {
  /** Unique per scheduler; modules' jobs are registered as `<module>.<name>`. */
  name: string;
  scope: JobScope;
  /** Time between the starts of two runs, ms. A run that is still going when the next is due delays it. */
  everyMs: number;
  /**
   * Node jobs: first run this long after the scheduler starts (default `everyMs`). Leader jobs
   * that never ran anywhere run at the first tick after this delay (default 0).
   */
  initialDelayMs?: number;
  run(ctx: JobContext): Promise<void>;
}

export interface JobStatus {
  name: string;
  scope: JobScope;
  running: boolean;
  nextDueMs: number | null;
  lastStartedMs: number | null;
  lastFinishedMs: number | null;
  lastError: string | null;
  runs: number;
  failures: number;
}

export interface SchedulerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SchedulerOptions {
  clock: Clock;
  /** The leader lease; null on nodes that never run leader jobs (they are then skipped). */
  lease: LeaderLease | null;
  /** Name of the lease, used as the fence name of leader runs. Default `leader`. */
  leaseName?: string;
  /** State database holding `rp_job_runs` and `rp_fences` (platform migrations applied). */
  state: SqlDatabase;
  logger?: SchedulerLogger;
  /** Interval of the real timer started by `start()`, ms. Default 1_000. */
  tickMs?: number;
}

interface JobState {
  def: JobDefinition;
  nextDueMs: number | null;
  running: Promise<void> | null;
  abort: AbortController | null;
  lastStartedMs: number | null;
  lastFinishedMs: number | null;
  lastError: string | null;
  runs: number;
  failures: number;
}

const noLogger: SchedulerLogger = { info: () => undefined, warn: () => undefined };

export class Scheduler {
  private readonly jobs = new Map<string, JobState>();
  private readonly clock: Clock;
  private readonly leaseName: string;
  private readonly logger: SchedulerLogger;
  private readonly startedAtMs: number;
  private token: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private wakePending = false;
  private launchChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock;
    this.leaseName = opts.leaseName ?? 'leader';
    this.logger = opts.logger ?? noLogger;
    this.startedAtMs = opts.clock.nowMs();
  }

  /** Registers a job; throws on a duplicate name or a non-positive interval (bugs). */
  add(def: JobDefinition): void {
    if (this.jobs.has(def.name)) throw new Error(`job ${def.name} is registered twice`);
    if (!(def.everyMs > 0)) throw new Error(`job ${def.name}: everyMs must be positive`);
    this.jobs.set(def.name, {
      def,
      nextDueMs: def.scope === 'node' ? this.startedAtMs + (def.initialDelayMs ?? def.everyMs) : null,
      running: null,
      abort: null,
      lastStartedMs: null,
      lastFinishedMs: null,
      lastError: null,
      runs: 0,
      failures: 0,
    });
  }

  /** The fencing token this node holds, or null when it is not the leader (as of the last tick). */
  get leaderToken(): number | null {
    return this.token;
  }

  /**
   * Makes a job due now (e.g. a commit notification for a derived processor); with the real
   * timer running, a tick follows at once. Unknown names are ignored.
   */
  wake(name: string): void {
    const job = this.jobs.get(name);
    if (!job) return;
    job.nextDueMs = Math.min(job.nextDueMs ?? 0, this.clock.nowMs());
    this.tickSoon();
  }

  /** A tick right after the current turn, with the real timer running; many requests in a burst make one. */
  private tickSoon(): void {
    if (!this.timer || this.stopped || this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      void this.tick();
    });
  }

  /**
   * Renews the lease (when leader jobs exist), then starts every due job that is not running,
   * and resolves when every run in progress by then has finished (so a test that ticks sees
   * the effects). Ticks never overlap in their lease and launch phase; a long run does not
   * hold up the next tick's other jobs.
   */
  async tick(): Promise<void> {
    const launching = this.launchChain.then(() => this.launchDue());
    this.launchChain = launching.catch(() => undefined);
    await launching;
    await Promise.all([...this.jobs.values()].map((j) => j.running));
  }

  private async launchDue(): Promise<void> {
    if (this.stopped) return;
    if ([...this.jobs.values()].some((j) => j.def.scope === 'leader')) await this.renewLease();
    const now = this.clock.nowMs();
    for (const job of this.jobs.values()) {
      if (job.running || job.nextDueMs === null || job.nextDueMs > now) continue;
      if (job.def.scope === 'leader' && this.token === null) continue;
      void this.launch(job, now);
    }
  }

  private async renewLease(): Promise<void> {
    let token: number | null = null;
    try {
      token = (await this.opts.lease?.tryAcquire()) ?? null;
    } catch (e) {
      this.logger.warn({ err: e }, 'leader lease could not be renewed; leader jobs pause');
    }
    if (token === this.token) return;
    const previous = this.token;
    this.token = token;
    if (previous !== null) {
      // Lost or changed hands: runs under the old token must stop writing.
      for (const job of this.jobs.values()) if (job.def.scope === 'leader') job.abort?.abort();
      this.logger.info({ lease: this.leaseName, previous, token }, 'leader lease lost');
    }
    if (token === null) {
      for (const job of this.jobs.values()) if (job.def.scope === 'leader') job.nextDueMs = null;
      return;
    }
    this.logger.info({ lease: this.leaseName, token }, 'leader lease acquired; leader jobs run here');
    await this.loadLeaderSchedule();
  }

  /** Leader jobs continue the cadence recorded by whichever node ran them last. */
  private async loadLeaderSchedule(): Promise<void> {
    const leaderJobs = [...this.jobs.values()].filter((j) => j.def.scope === 'leader');
    let recorded = new Map<string, number>();
    try {
      const rows = await this.opts.state.query<{ name: string; last_started_ms: number }>(
        'SELECT name, last_started_ms FROM rp_job_runs',
      );
      recorded = new Map(rows.map((r) => [r.name, Number(r.last_started_ms)]));
    } catch (e) {
      this.logger.warn({ err: e }, 'job schedule could not be read; leader jobs run as if never run');
    }
    const now = this.clock.nowMs();
    for (const job of leaderJobs) {
      const last = recorded.get(job.def.name);
      job.lastStartedMs = last ?? job.lastStartedMs;
      const woken = job.nextDueMs !== null && job.nextDueMs <= now;
      job.nextDueMs =
        woken && last !== undefined
          ? job.nextDueMs
          : last === undefined
            ? Math.max(now, this.startedAtMs + (job.def.initialDelayMs ?? 0))
            : last + job.def.everyMs;
    }
  }

  private launch(job: JobState, now: number): Promise<void> {
    const def = job.def;
    const fence: Fence | null = def.scope === 'leader' ? { name: this.leaseName, token: this.token as number } : null;
    const abort = new AbortController();
    job.abort = abort;
    job.lastStartedMs = now;
    job.nextDueMs = now + def.everyMs;
    const run = (async () => {
      try {
        if (fence) await this.recordStart(def.name, fence, now);
        await def.run({ nowMs: now, fence, signal: abort.signal });
        job.runs++;
        job.lastError = null;
      } catch (e) {
        job.failures++;
        job.lastError = e instanceof Error ? e.message : String(e);
        if (e instanceof StaleFenceError)
          this.logger.warn({ job: def.name, err: e }, 'job stopped: no longer the leader');
        else this.logger.warn({ job: def.name, err: e }, 'job failed; it runs again when next due');
      } finally {
        job.lastFinishedMs = this.clock.nowMs();
        job.running = null;
        job.abort = null;
        if (fence) await this.recordFinish(def.name, fence, job).catch(() => undefined);
        // Woken while it ran (a commit during an evaluation): run again now, not at the next timer tick.
        if (job.nextDueMs !== null && job.nextDueMs <= this.clock.nowMs()) this.tickSoon();
      }
    })();
    job.running = run;
    return run;
  }

  /** Records the start under the fence: a stale leader is stopped before the job does anything. */
  private recordStart(name: string, fence: Fence, now: number): Promise<void> {
    return this.opts.state.transaction(async (tx) => {
      await checkFence(tx, fence, now);
      await tx.exec(
        `INSERT INTO rp_job_runs (name, last_started_ms, last_finished_ms, last_error) VALUES ($1, $2, NULL, NULL)
         ON CONFLICT (name) DO UPDATE SET last_started_ms = excluded.last_started_ms`,
        [name, now],
      );
    });
  }

  private recordFinish(name: string, fence: Fence, job: JobState): Promise<void> {
    return this.opts.state.transaction(async (tx) => {
      await checkFence(tx, fence, job.lastFinishedMs ?? this.clock.nowMs());
      await tx.exec('UPDATE rp_job_runs SET last_finished_ms = $2, last_error = $3 WHERE name = $1', [
        name,
        job.lastFinishedMs,
        job.lastError,
      ]);
    });
  }

  /** Runs `tick()` every `tickMs` on a real (unref'd) timer until `stop()`. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the timer, aborts running jobs and waits for them to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const running: Promise<void>[] = [];
    for (const job of this.jobs.values()) {
      job.abort?.abort();
      if (job.running) running.push(job.running);
    }
    await Promise.all(running);
    await this.launchChain;
  }

  status(): JobStatus[] {
    return [...this.jobs.values()].map((j) => ({
      name: j.def.name,
      scope: j.def.scope,
      running: j.running !== null,
      nextDueMs: j.nextDueMs,
      lastStartedMs: j.lastStartedMs,
      lastFinishedMs: j.lastFinishedMs,
      lastError: j.lastError,
      runs: j.runs,
      failures: j.failures,
    }));
  }
}
