/**
 * The SDK's log pipeline for one service: policy (fetched and cached), local sampler, pattern
 * statistics reported to the server, and the OTLP shipper for kept lines. The pino and winston
 * integrations are thin adapters over `handle()`.
 */
import type { LogSeverity } from '@reskpoints/core';
import { authHeaders, endpoint, type ReskPointsLogOptions } from './options.js';
import { OtlpLogShipper, type ShippedLog } from './otlp-log-shipper.js';
import { PolicyClient } from './policy-client.js';
import { LogSampler } from './sampler.js';

export interface LogLine {
  message: string;
  severity: LogSeverity;
  timeMs?: number;
  /** Bytes the line takes as produced (defaults to the message length). */
  bytes?: number;
  attributes?: Record<string, string | number | boolean>;
  traceId?: string;
  spanId?: string;
}

export class ReskPointsLogs {
  readonly policy: PolicyClient;
  readonly sampler: LogSampler;
  readonly shipper: OtlpLogShipper;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  /** Statistics reports the server took. */
  statsReported = 0;

  constructor(readonly options: ReskPointsLogOptions) {
    this.policy = new PolicyClient(options);
    this.sampler = new LogSampler(this.policy, options.now ?? Date.now, options.random ?? Math.random);
    this.shipper = new OtlpLogShipper(options);
  }

  /** Fetches the policy once and starts the background refresh, flush and statistics timers. */
  async start(): Promise<this> {
    await this.policy.refresh();
    this.policy.start();
    this.shipper.start();
    this.statsTimer = setInterval(() => void this.reportStats(), this.options.statsIntervalMs ?? 60_000);
    this.statsTimer.unref?.();
    return this;
  }

  /** Samples one line; returns whether it was kept (and queued for shipping). */
  handle(line: LogLine): boolean {
    const bytes = line.bytes ?? line.message.length;
    const d = this.sampler.decide(line.message, line.severity, bytes);
    if (!d.keep) return false;
    const log: ShippedLog = {
      timeMs: line.timeMs ?? (this.options.now ?? Date.now)(),
      severity: line.severity,
      body: line.message,
      attributes: { ...line.attributes, 'log.pattern_id': d.patternId },
    };
    if (line.traceId) log.traceId = line.traceId;
    if (line.spanId) log.spanId = line.spanId;
    this.shipper.enqueue(log);
    return true;
  }

  /** Sends the pattern statistics gathered since the last report. Never throws. */
  async reportStats(): Promise<boolean> {
    const stats = this.sampler.takeStats();
    if (stats.patterns.length === 0) return true;
    const f = this.options.fetch ?? fetch;
    try {
      const res = await f(endpoint(this.options, '/api/v1/patterns/stats'), {
        method: 'POST',
        headers: { ...authHeaders(this.options), 'content-type': 'application/json' },
        body: JSON.stringify({ service: this.options.service, ...stats }),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) this.statsReported++;
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Stops the timers, reports statistics and sends what is buffered. */
  async close(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    this.policy.stop();
    await this.reportStats();
    await this.shipper.close();
  }
}
