/**
 * Prometheus figures about jobs and derived processing, read from the scheduler at each scrape.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Scheduler } from './scheduler.js';

export function registerSchedulerMetrics(registry: Registry, scheduler: Scheduler): void {
  new Counter({
    name: 'reskpoints_job_runs_total',
    help: 'Runs of each periodic job (and derived processor) on this node, by outcome',
    labelNames: ['job', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of scheduler.status()) {
        this.inc({ job: s.name, outcome: 'ok' }, s.runs);
        this.inc({ job: s.name, outcome: 'failed' }, s.failures);
      }
    },
  });
  new Gauge({
    name: 'reskpoints_job_last_started_timestamp_seconds',
    help: 'When each job last started on this node (leader jobs: on whichever node led, as recorded)',
    labelNames: ['job'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of scheduler.status())
        if (s.lastStartedMs !== null) this.set({ job: s.name }, s.lastStartedMs / 1000);
    },
  });
  new Gauge({
    name: 'reskpoints_leader',
    help: '1 while this node holds the leader lease (runs leader jobs and derived processing)',
    registers: [registry],
    collect() {
      this.set(scheduler.leaderToken === null ? 0 : 1);
    },
  });
}
