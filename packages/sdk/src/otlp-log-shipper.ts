/**
 * Sends kept log records to ReskPoints over OTLP/HTTP JSON (`POST /v1/logs`) in batches, with
 * retries that honour 429/503 and Retry-After, and a bounded buffer: past it the oldest records
 * below warn are dropped first (and counted), so errors are the last to go.
 */
import { type LogSeverity, severityRank } from '@reskpoints/core';
import { authHeaders, endpoint, type ReskPointsLogOptions } from './options.js';

export interface ShippedLog {
  timeMs: number;
  severity: LogSeverity;
  body: string;
  attributes: Record<string, string | number | boolean>;
  traceId?: string;
  spanId?: string;
}

const SEVERITY_NUMBER: Record<LogSeverity, number> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

function anyValue(v: string | number | boolean): Record<string, unknown> {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

function attrs(o: Record<string, string | number | boolean>): Array<{ key: string; value: Record<string, unknown> }> {
  return Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));
}

export class OtlpLogShipper {
  private buffer: ShippedLog[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight: Promise<void> | null = null;
  private retryAtMs = 0;
  /** Records dropped because the buffer was full. */
  dropped = 0;
  /** Records the server acknowledged. */
  sent = 0;
  /** Requests that failed and will be retried. */
  failures = 0;

  constructor(private readonly opts: ReskPointsLogOptions) {}

  get buffered(): number {
    return this.buffer.length;
  }

  enqueue(log: ShippedLog): void {
    const max = this.opts.maxBufferedLogs ?? 10_000;
    if (this.buffer.length >= max) {
      // Drop the oldest record below warn; if every record is warn or worse, the oldest one.
      let victim = this.buffer.findIndex((l) => severityRank(l.severity) < severityRank('warn'));
      if (victim < 0) victim = 0;
      this.buffer.splice(victim, 1);
      this.dropped++;
    }
    this.buffer.push(log);
    if (this.buffer.length >= (this.opts.maxBatchLogs ?? 500)) void this.flush();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 1_000);
    this.timer.unref?.();
  }

  /** Sends what is buffered (one request at a time). Never throws. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.sendAll().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async sendAll(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    while (this.buffer.length > 0 && now() >= this.retryAtMs) {
      const batch = this.buffer.slice(0, this.opts.maxBatchLogs ?? 500);
      const ok = await this.send(batch);
      if (!ok) return;
      this.buffer.splice(0, batch.length);
      this.sent += batch.length;
    }
  }

  private body(batch: ShippedLog[]): string {
    const resource: Record<string, string> = { 'service.name': this.opts.service };
    if (this.opts.environment) resource['deployment.environment'] = this.opts.environment;
    return JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: attrs(resource) },
          scopeLogs: [
            {
              scope: { name: '@reskpoints/sdk' },
              logRecords: batch.map((l) => ({
                timeUnixNano: `${BigInt(Math.round(l.timeMs)) * 1_000_000n}`,
                severityNumber: SEVERITY_NUMBER[l.severity],
                severityText: l.severity.toUpperCase(),
                body: { stringValue: l.body },
                attributes: attrs(l.attributes),
                ...(l.traceId ? { traceId: l.traceId } : {}),
                ...(l.spanId ? { spanId: l.spanId } : {}),
              })),
            },
          ],
        },
      ],
    });
  }

  /** True when the server took the batch (or refused it for good: a 4xx other than 429). */
  private async send(batch: ShippedLog[]): Promise<boolean> {
    const f = this.opts.fetch ?? fetch;
    const now = this.opts.now ?? Date.now;
    try {
      const res = await f(endpoint(this.opts, '/v1/logs'), {
        method: 'POST',
        headers: { ...authHeaders(this.opts), 'content-type': 'application/json' },
        body: this.body(batch),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      if (res.status === 429 || res.status === 503 || res.status >= 500) {
        this.failures++;
        const after = Number(res.headers.get('retry-after'));
        this.retryAtMs = now() + (Number.isFinite(after) && after > 0 ? after * 1000 : 1_000);
        return false;
      }
      // A permanent refusal: retrying the same records would fail forever.
      this.dropped += batch.length;
      this.buffer.splice(0, batch.length);
      return false;
    } catch {
      this.failures++;
      this.retryAtMs = now() + 1_000;
      return false;
    }
  }

  /** Stops the timer and sends what is left, retrying until `deadlineMs` from now. */
  async close(deadlineMs = 5_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const now = this.opts.now ?? Date.now;
    const end = now() + deadlineMs;
    while (this.buffer.length > 0 && now() < end) {
      this.retryAtMs = Math.min(this.retryAtMs, now());
      await this.flush();
      if (this.buffer.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
  }
}
