/**
 * Re-costing jobs: recompute the cost of a range of stored calls with the prices in force now
 * (after a price change), and the rollups with it, through `TelemetryStore.recost`. One job
 * runs at a time per process; each reports its progress (periods done of the range, calls
 * re-costed) and is kept, finished, for later reads. Re-costing the same range twice gives the
 * same result as once, so a failed or interrupted job is simply started again.
 */
import { type Clock, type PriceBook, randomHex } from '@reskpoints/core';
import type { RecostProgress, RecostQuery, TelemetryStore } from '../store/ports.js';
import { repriced } from './price-calls.js';

export interface RecostJob extends RecostQuery, RecostProgress {
  id: string;
  state: 'running' | 'done' | 'failed';
  startedAtMs: number;
  finishedAtMs: number | null;
  error: string | null;
}

export class RecostJobs {
  private readonly jobs = new Map<string, RecostJob>();
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: { telemetry: TelemetryStore; book: () => PriceBook; clock: Clock; keep?: number },
  ) {}

  /** Starts a job; null when one is running already. */
  start(query: RecostQuery): RecostJob | null {
    if (this.running) return null;
    const job: RecostJob = {
      id: `rc_${randomHex(8)}`,
      ...query,
      state: 'running',
      periodsDone: 0,
      periodsTotal: 0,
      callsRecosted: 0,
      startedAtMs: this.deps.clock.nowMs(),
      finishedAtMs: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.forgetOld();
    const book = this.deps.book();
    this.running = this.deps.telemetry
      .recost(
        query,
        (call) => repriced(call, book),
        (p) => Object.assign(job, p),
      )
      .then(
        (p) => {
          Object.assign(job, p, { state: 'done', finishedAtMs: this.deps.clock.nowMs() });
        },
        (e: unknown) => {
          Object.assign(job, { state: 'failed', error: (e as Error).message, finishedAtMs: this.deps.clock.nowMs() });
        },
      )
      .finally(() => {
        this.running = null;
      });
    return { ...job };
  }

  get(id: string): RecostJob | null {
    const job = this.jobs.get(id);
    return job ? { ...job } : null;
  }

  list(): RecostJob[] {
    return [...this.jobs.values()].map((j) => ({ ...j })).reverse();
  }

  /** Resolves when the running job (if any) has finished. */
  async idle(): Promise<void> {
    await this.running;
  }

  private forgetOld(): void {
    const keep = this.deps.keep ?? 50;
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (job.state !== 'running') this.jobs.delete(id);
    }
  }
}
