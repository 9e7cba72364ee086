import { nativeLlmCallSchema, nativeToLlmCall } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { buildOtlpTraceRequest, type OtlpKeyValue } from './otlp.js';
import { createRng } from './rng.js';
import {
  buildDemoCalls,
  buildSpikeCalls,
  buildTrafficForRange,
  DEMO_PROJECT_NAMES,
  type DemoCall,
  diurnalFactor,
  isSpikeAt,
  SPIKE_DURATION_MS,
  SPIKE_PERIOD_MS,
  spikeOverlapMs,
  toNativeEvent,
} from './traffic.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

describe('rng', () => {
  it('is reproducible per seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it('draws Poisson counts with the right mean', () => {
    const rng = createRng(7);
    for (const mean of [0.3, 4, 200]) {
      let sum = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) sum += rng.poisson(mean);
      // Within four standard errors of the mean.
      expect(Math.abs(sum / n - mean)).toBeLessThan(4 * Math.sqrt(mean / n));
    }
  });
});

describe('buildDemoCalls', () => {
  const calls = buildDemoCalls(createRng(1), T0, 6000, { spreadMs: 3_600_000 });

  it('is deterministic for a seed', () => {
    const again = buildDemoCalls(createRng(1), T0, 6000, { spreadMs: 3_600_000 });
    expect(again).toEqual(calls);
    expect(buildDemoCalls(createRng(2), T0, 50)).not.toEqual(buildDemoCalls(createRng(1), T0, 50));
  });

  it('spreads calls over projects, providers, models, users, sessions and environments', () => {
    const share = (pred: (c: DemoCall) => boolean) => calls.filter(pred).length / calls.length;
    expect(share((c) => c.project === 'support-bot')).toBeGreaterThan(0.38);
    expect(share((c) => c.project === 'support-bot')).toBeLessThan(0.52);
    expect(share((c) => c.project === 'search-rag')).toBeGreaterThan(0.15);
    expect(new Set(calls.map((c) => c.provider))).toEqual(new Set(['openai', 'anthropic', 'gcp.gemini']));
    expect(new Set(calls.map((c) => c.requestModel))).toEqual(
      new Set([
        'gpt-4o',
        'gpt-4o-mini',
        'o3-mini',
        'claude-sonnet-4-0',
        'claude-3-5-haiku-latest',
        'gemini-2.0-flash',
        'text-embedding-3-small',
      ]),
    );
    const users = new Set(calls.map((c) => c.userId));
    expect(users.size).toBeGreaterThan(150);
    expect(users.size).toBeLessThanOrEqual(200);
    // Heavy users: the busiest user makes far more calls than the median one.
    const perUser = new Map<string, number>();
    for (const c of calls) perUser.set(c.userId, (perUser.get(c.userId) ?? 0) + 1);
    const counts = [...perUser.values()];
    expect(Math.max(...counts)).toBeGreaterThan(5 * quantile(counts, 0.5));
    const sessions = new Set(calls.map((c) => c.sessionId));
    expect(sessions.size).toBeLessThan(calls.length * 0.9);
    expect(share((c) => c.environment === 'staging')).toBeGreaterThan(0.05);
    expect(share((c) => c.environment === 'staging')).toBeLessThan(0.25);
    expect(share((c) => c.channel === 'otlp')).toBeGreaterThan(0.3);
    expect(share((c) => c.channel === 'native')).toBeGreaterThan(0.3);
    expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    expect(calls.every((c) => c.tags.some((t) => t.startsWith('feature:')))).toBe(true);
  });

  it('has about 2% errors, rate limits and timeouts among them', () => {
    const errors = calls.filter((c) => c.status === 'error');
    expect(errors.length / calls.length).toBeGreaterThan(0.012);
    expect(errors.length / calls.length).toBeLessThan(0.035);
    const types = new Set(errors.map((c) => c.errorType));
    expect(types.has('timeout')).toBe(true);
    expect([...types].some((t) => t === 'rate_limit_exceeded' || t === 'rate_limit_error')).toBe(true);
    expect(errors.every((c) => c.usage === null && c.errorMessage)).toBe(true);
  });

  it('has realistic tokens, latency and time to first token per model', () => {
    const ok = calls.filter((c) => c.status === 'ok');
    const mini = ok.filter((c) => c.requestModel === 'gpt-4o-mini');
    const p50 = quantile(
      mini.map((c) => c.latencyMs),
      0.5,
    );
    expect(p50).toBeGreaterThan(1000);
    expect(p50).toBeLessThan(8000);
    for (const c of ok) {
      expect(c.usage).not.toBeNull();
      if (c.ttftMs !== null) expect(c.ttftMs).toBeLessThanOrEqual(c.latencyMs);
      const u = c.usage!;
      expect(u.cacheReadTokens + u.cacheWriteTokens).toBeLessThanOrEqual(u.inputTokens);
      expect(u.reasoningTokens).toBeLessThanOrEqual(u.outputTokens);
    }
    const o3 = ok.filter((c) => c.requestModel === 'o3-mini');
    expect(o3.every((c) => c.usage!.reasoningTokens > 0)).toBe(true);
    const sonnet = ok.filter((c) => c.provider === 'anthropic');
    expect(sonnet.filter((c) => c.usage!.cacheReadTokens > 0).length / sonnet.length).toBeGreaterThan(0.4);
    expect(sonnet.some((c) => c.usage!.cacheWriteTokens > 0)).toBe(true);
    const embeddings = ok.filter((c) => c.operation === 'embeddings');
    expect(embeddings.length).toBeGreaterThan(100);
    expect(embeddings.every((c) => c.usage!.outputTokens === 0 && c.ttftMs === null && c.latencyMs < 5000)).toBe(true);
    const streaming = ok.filter((c) => c.ttftMs !== null);
    expect(streaming.length / ok.length).toBeGreaterThan(0.4);
  });

  it('follows failed calls with client retries: same trace, new id, later start', () => {
    const byTrace = new Map<string, DemoCall[]>();
    for (const c of calls) byTrace.set(c.traceId, [...(byTrace.get(c.traceId) ?? []), c]);
    let retried = 0;
    for (const group of byTrace.values()) {
      group.sort((a, b) => a.attempt - b.attempt);
      group.forEach((c, i) => {
        expect(c.attempt).toBe(i + 1);
      });
      for (let i = 1; i < group.length; i++) {
        const prev = group[i - 1]!;
        const cur = group[i]!;
        retried++;
        expect(prev.status).toBe('error');
        expect(cur.id).not.toBe(prev.id);
        expect(cur.startTimeMs).toBeGreaterThanOrEqual(prev.startTimeMs + prev.latencyMs);
        expect(cur.metadata.attempt).toBe(String(cur.attempt));
      }
      const last = group[group.length - 1]!;
      if (last.status === 'error') expect(last.attempt).toBe(3);
    }
    expect(retried).toBeGreaterThan(50);
  });
});

describe('native events', () => {
  it('validate against the ingest schema and normalise back to the same usage', () => {
    const calls = buildDemoCalls(createRng(3), T0, 800);
    for (const c of calls) {
      const parsed = nativeLlmCallSchema.safeParse(toNativeEvent(c));
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      if (!parsed.success) continue;
      const normalised = nativeToLlmCall(parsed.data, { projectId: 'p', nowMs: T0, excerptMaxChars: 2000 });
      expect(normalised.startTimeMs).toBe(c.startTimeMs);
      expect(normalised.status).toBe(c.status);
      if (c.usage) {
        expect(normalised.usage.inputTokens).toBe(c.usage.inputTokens);
        expect(normalised.usage.outputTokens).toBe(c.usage.outputTokens);
        expect(normalised.usage.cacheReadTokens).toBe(c.usage.cacheReadTokens);
        expect(normalised.usage.reasoningTokens).toBe(c.usage.reasoningTokens);
      }
    }
    const anthropic = calls.find((c) => c.provider === 'anthropic' && (c.usage?.cacheReadTokens ?? 0) > 0)!;
    expect(toNativeEvent(anthropic).usage?.inputIncludesCached).toBe(false);
  });
});

describe('cost spikes', () => {
  it('recur on a fixed schedule', () => {
    const start = Math.ceil(T0 / SPIKE_PERIOD_MS) * SPIKE_PERIOD_MS;
    expect(isSpikeAt(start)).toBe(true);
    expect(isSpikeAt(start + SPIKE_DURATION_MS - 1)).toBe(true);
    expect(isSpikeAt(start + SPIKE_DURATION_MS)).toBe(false);
    expect(spikeOverlapMs(start - 1000, start + SPIKE_PERIOD_MS + 1000)).toBe(SPIKE_DURATION_MS + 1000);
  });

  it('are long-context calls by one job in one project', () => {
    const spike = buildSpikeCalls(createRng(5), T0, 40).filter((c) => c.status === 'ok');
    expect(spike.length).toBeGreaterThan(30);
    for (const c of spike) {
      expect(c.project).toBe('search-rag');
      expect(c.userId).toBe('svc-batch-indexer');
      expect(c.usage!.inputTokens).toBeGreaterThanOrEqual(120_000);
      expect(c.spike).toBe(true);
    }
    expect(spike.some((c) => c.usage!.inputTokens > 200_000)).toBe(true);
  });

  it('show up in a range of traffic and dominate its input tokens while they last', () => {
    const from = Math.floor(T0 / SPIKE_PERIOD_MS) * SPIKE_PERIOD_MS;
    const calls = buildTrafficForRange(createRng(9), from, from + 3_600_000, 1200);
    const spike = calls.filter((c) => c.spike);
    expect(spike.length).toBeGreaterThan(60);
    expect(spike.every((c) => isSpikeAt(c.attempt === 1 ? c.startTimeMs : from))).toBe(true);
    const tokens = (list: DemoCall[]) => list.reduce((s, c) => s + (c.usage?.inputTokens ?? 0), 0);
    expect(tokens(spike)).toBeGreaterThan(tokens(calls.filter((c) => !c.spike)));
    const regular = calls.length - spike.length;
    expect(regular).toBeGreaterThan(1200 * diurnalFactor(from) * 0.8);
    expect(regular).toBeLessThan(1200 * 1.3);
  });
});

describe('OTLP JSON', () => {
  const attr = (attrs: OtlpKeyValue[], key: string) => attrs.find((a) => a.key === key)?.value;

  it('carries GenAI attributes, hex ids, nanosecond strings and one resource per service/environment', () => {
    const calls = buildDemoCalls(createRng(11), T0, 300).filter((c) => c.channel === 'otlp');
    const body = buildOtlpTraceRequest(calls, { withRequestSpans: true });
    const keys = new Set(calls.map((c) => `${c.serviceName}/${c.environment}`));
    expect(body.resourceSpans).toHaveLength(keys.size);
    const spans = body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const llm = spans.filter((s) => s.kind === 3);
    expect(llm).toHaveLength(calls.length);
    const firstAttempts = calls.filter((c) => c.attempt === 1).length;
    expect(spans.filter((s) => s.kind === 2)).toHaveLength(firstAttempts);
    for (const c of calls) {
      const s = llm.find((x) => x.spanId === c.spanId)!;
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s.parentSpanId).toBe(c.parentSpanId);
      expect(s.startTimeUnixNano).toBe(`${c.startTimeMs}000000`);
      expect(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)).toBe(BigInt(c.latencyMs) * 1_000_000n);
      expect(attr(s.attributes, 'gen_ai.request.model')).toEqual({ stringValue: c.requestModel });
      const provider = attr(s.attributes, 'gen_ai.provider.name') ?? attr(s.attributes, 'gen_ai.system');
      expect(provider).toEqual({ stringValue: c.provider });
      if (c.usage) {
        // OTel semantics: input includes cached tokens.
        expect(attr(s.attributes, 'gen_ai.usage.input_tokens')).toEqual({ intValue: c.usage.inputTokens });
        if (c.usage.cacheReadTokens > 0) {
          expect(attr(s.attributes, 'gen_ai.usage.cache_read.input_tokens')).toEqual({
            intValue: c.usage.cacheReadTokens,
          });
        }
      }
      if (c.status === 'error') {
        expect(s.status.code).toBe(2);
        expect(attr(s.attributes, 'error.type')).toEqual({ stringValue: c.errorType });
      }
    }
    const resource = body.resourceSpans[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toBeDefined();
    expect(attr(resource, 'deployment.environment.name')).toBeDefined();
  });

  it('covers every demo project through some channel', () => {
    const calls = buildDemoCalls(createRng(12), T0, 500);
    for (const name of DEMO_PROJECT_NAMES) {
      expect(calls.some((c) => c.project === name && c.channel === 'otlp')).toBe(true);
    }
  });
});
