/**
 * Pattern ids for stored logs: one LogMiner per (project, service), fed by the ingest
 * enrichment step, its patterns (templates, examples, aliases) saved to the state database and
 * restored at start. Bounded: past `maxMiners` the least recently used miner is saved and
 * dropped (and restored from its snapshot when its service logs again).
 */
import { LogMiner, type LogMinerSnapshot, type MinedPattern, type TelemetryBatch } from '@reskpoints/core';
import type { LogRepo } from './log-repo.js';

interface Entry {
  projectId: string;
  service: string;
  miner: LogMiner;
  dirty: boolean;
  lastUsed: number;
}

export interface PatternServiceOptions {
  repo: LogRepo;
  nowMs: () => number;
  /** Miners kept in memory. Default 2,000. */
  maxMiners?: number;
  /** Patterns per miner. Default 5,000. */
  maxPatternsPerService?: number;
}

const key = (projectId: string, service: string) => `${projectId}\u0000${service}`;

export class PatternService {
  private readonly miners = new Map<string, Entry>();
  private readonly saved = new Map<string, LogMinerSnapshot>();
  private tick = 0;

  constructor(private readonly opts: PatternServiceOptions) {}

  /** Loads saved snapshots (call once before enriching). */
  async load(): Promise<void> {
    for (const s of await this.opts.repo.loadMinerSnapshots()) this.saved.set(key(s.projectId, s.service), s.snapshot);
  }

  private miner(projectId: string, service: string): Entry {
    const k = key(projectId, service);
    let e = this.miners.get(k);
    if (!e) {
      if (this.miners.size >= (this.opts.maxMiners ?? 2_000)) this.evict();
      const snap = this.saved.get(k);
      const options = { maxPatterns: this.opts.maxPatternsPerService ?? 5_000 };
      e = {
        projectId,
        service,
        miner: snap ? LogMiner.restore(snap, options) : new LogMiner(options),
        dirty: false,
        lastUsed: 0,
      };
      this.miners.set(k, e);
    }
    e.lastUsed = ++this.tick;
    return e;
  }

  private evict(): void {
    let oldest: [string, Entry] | null = null;
    for (const kv of this.miners) if (!oldest || kv[1].lastUsed < oldest[1].lastUsed) oldest = kv;
    if (!oldest) return;
    // Kept in memory as a snapshot until the next save writes it.
    this.saved.set(oldest[0], oldest[1].miner.snapshot());
    if (oldest[1].dirty) this.pendingSaves.set(oldest[0], oldest[1]);
    this.miners.delete(oldest[0]);
  }

  private readonly pendingSaves = new Map<string, Entry>();

  /** Sets `patternId` on every log of the batch (the enrichment step). */
  enrich(batch: TelemetryBatch): void {
    if (!batch.logs?.length) return;
    // Lines of a batch mostly come from one service: look its miner up once per run of them.
    let e: Entry | null = null;
    for (const log of batch.logs) {
      const service = log.serviceName ?? '';
      if (e === null || e.projectId !== log.projectId || e.service !== service) {
        e = this.miner(log.projectId, service);
        e.dirty = true;
      }
      log.patternId = e.miner.add(log.body).patternId;
    }
  }

  /** Saves the miners that changed since the last save. */
  async save(): Promise<number> {
    const now = this.opts.nowMs();
    let n = 0;
    for (const [k, e] of [...this.pendingSaves, ...[...this.miners].filter(([, x]) => x.dirty)]) {
      e.dirty = false;
      this.pendingSaves.delete(k);
      await this.opts.repo.saveMinerSnapshot(e.projectId, e.service, e.miner.snapshot(), now);
      n++;
    }
    return n;
  }

  /** Patterns (templates, examples, aliases) of a project's service, from memory or the saved snapshot. */
  patterns(projectId: string, service: string): MinedPattern[] {
    const e = this.miners.get(key(projectId, service));
    if (e) return e.miner.patterns();
    const snap = this.saved.get(key(projectId, service));
    return snap ? LogMiner.restore(snap).patterns() : [];
  }

  /** The current id of a pattern id that may have been merged into another. */
  resolve(projectId: string, service: string, patternId: string): string {
    return this.miners.get(key(projectId, service))?.miner.resolveId(patternId) ?? patternId;
  }
}
