/**
 * The stored half of attaching GenAI event content to LLM calls (see `genai-events.ts`): parts
 * whose call was not in their request wait in `logs_genai_pending`; this pass finds each waiting
 * span's call in the telemetry store and fills its missing excerpts, whichever arrived first.
 * A span is looked at again only after new calls were committed (or a minute later), so parts
 * whose call never comes cost little until they expire.
 */
import type { TelemetryStore } from '../store/ports.js';
import { excerptsOf, groupBySpan } from './genai-events.js';
import type { LogRepo } from './log-repo.js';

export interface GenAiExcerptsOptions {
  repo: LogRepo;
  telemetry: TelemetryStore;
  nowMs: () => number;
  excerptMaxChars: () => number;
  /** How long parts wait for their call before they are dropped, ms. */
  waitMs: () => number;
}

/** How far around the events' times the call is looked for, ms. */
const CALL_WINDOW_MS = 60 * 60 * 1000;
/** Spans are looked at again at least this often without a new commit, ms. */
const RECHECK_MS = 60_000;
/** Most parts read per pass. */
const PARTS_PER_PASS = 5_000;

export class GenAiExcerpts {
  private readonly checkedAt = new Map<string, number>();
  private lastCallsCommittedMs = 0;

  constructor(private readonly opts: GenAiExcerptsOptions) {}

  /** A commit stored new calls: waiting spans are worth a look again. */
  callsCommitted(atMs: number): void {
    this.lastCallsCommittedMs = Math.max(this.lastCallsCommittedMs, atMs);
  }

  /** One pass; returns how many calls got excerpts. */
  async run(): Promise<number> {
    const { repo, telemetry } = this.opts;
    const parts = await repo.pendingGenAiParts(PARTS_PER_PASS);
    const now = this.opts.nowMs();
    const maxChars = this.opts.excerptMaxChars();
    const seen = new Set<string>();
    let filled = 0;
    for (const [key, list] of groupBySpan(parts)) {
      seen.add(key);
      const first = list[0]!;
      const createdAtMs = Math.min(...list.map((p) => p.createdAtMs));
      const expired = now - createdAtMs > this.opts.waitMs();
      const checked = this.checkedAt.get(key);
      if (!expired && checked !== undefined && checked > this.lastCallsCommittedMs && now - checked < RECHECK_MS)
        continue;
      this.checkedAt.set(key, now);
      const times = list.map((p) => p.timeMs);
      const trace = await telemetry.getTrace({
        traceId: first.traceId,
        projectIds: [first.projectId],
        fromMs: Math.min(...times) - CALL_WINDOW_MS,
        toMs: Math.max(...times) + CALL_WINDOW_MS,
      });
      const call = trace.llmCalls.find((c) => c.spanId === first.spanId);
      if (call) {
        if (maxChars > 0 && (call.promptExcerpt === null || call.responseExcerpt === null)) {
          const x = excerptsOf(list, maxChars);
          await telemetry.fillLlmCallExcerpts([
            {
              projectId: call.projectId,
              id: call.id,
              startTimeMs: call.startTimeMs,
              promptExcerpt: call.promptExcerpt === null ? x.promptExcerpt : null,
              responseExcerpt: call.responseExcerpt === null ? x.responseExcerpt : null,
            },
          ]);
          filled++;
        }
      } else if (!expired) continue;
      await repo.deleteGenAiSpan(first.projectId, first.traceId, first.spanId);
      this.checkedAt.delete(key);
    }
    // Forget spans that are no longer waiting (done by another leader, say).
    if (parts.length < PARTS_PER_PASS)
      for (const k of this.checkedAt.keys()) if (!seen.has(k)) this.checkedAt.delete(k);
    return filled;
  }
}
