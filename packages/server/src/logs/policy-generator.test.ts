import {
  CompiledPolicy,
  type LogSeverity,
  SamplingCaps,
  samplingPolicySchema,
  validatePolicySafety,
} from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LOG_COST_MODEL,
  diffPolicies,
  generatePolicy,
  type PatternStats,
  projectSavings,
} from './policy-generator.js';

const HOUR = 3_600_000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stats: PatternStats[] = [
  // 6,000/min of info health checks: noise.
  {
    patternId: 'p_health',
    template: 'GET /health <*>',
    count: 360_000,
    bytes: 360_000 * 80,
    severities: { info: 360_000 },
  },
  // 600/min, mostly debug with some errors.
  {
    patternId: 'p_cache',
    template: 'cache miss for <*>',
    count: 36_000,
    bytes: 36_000 * 120,
    severities: { debug: 35_000, error: 1_000 },
  },
  // 30/min: below the target, kept.
  {
    patternId: 'p_login',
    template: 'user <*> logged in',
    count: 1_800,
    bytes: 1_800 * 60,
    severities: { info: 1_800 },
  },
  // Rare.
  { patternId: 'p_rare', template: 'disk <*> failing', count: 10, bytes: 10 * 50, severities: { warn: 10 } },
];

describe('generatePolicy', () => {
  it('samples noisy patterns toward the target and keeps errors, warnings and rare patterns', () => {
    const policy = generatePolicy('api', stats, { windowMs: HOUR, targetPerMinute: 60 });
    expect(samplingPolicySchema.parse(policy)).toEqual(policy);
    expect(policy.rules.map((r) => r.patternId)).toEqual(['p_health', 'p_cache']);
    expect(policy.rules[0]?.rate).toBeCloseTo(60 / 6000, 6);
    // The cache pattern's low-severity lines are 35,000/h ≈ 583/min.
    expect(policy.rules[1]?.rate).toBeCloseTo(Number((60 / (35_000 / 60)).toPrecision(3)), 6);
    const rates = new Map(stats.map((s) => [s.patternId, s.count / 60]));
    expect(validatePolicySafety(policy, {}, rates)).toEqual([]);
  });

  it('applied line by line, keeps every error and samples the rest at the rule rate', () => {
    const policy = generatePolicy('api', stats, { windowMs: HOUR, targetPerMinute: 60 });
    const compiled = new CompiledPolicy(policy);
    const rand = mulberry32(7);
    let errorsKept = 0;
    let debugKept = 0;
    for (let i = 0; i < 35_000; i++) if (compiled.keep('p_cache', 'debug', rand())) debugKept++;
    for (let i = 0; i < 1_000; i++) if (compiled.keep('p_cache', 'error', rand())) errorsKept++;
    expect(errorsKept).toBe(1_000);
    const rate = policy.rules[1]?.rate as number;
    const expected = 35_000 * rate;
    const sd = Math.sqrt(35_000 * rate * (1 - rate));
    expect(Math.abs(debugKept - expected)).toBeLessThan(4 * sd);
    // Unknown patterns are kept.
    expect(compiled.keep('p_new', 'info', 0.999)).toBe(true);
  });

  it('projects savings that match the bytes a simulated application of the policy drops', () => {
    const windowMs = HOUR;
    const policy = generatePolicy('api', stats, { windowMs, targetPerMinute: 60 });
    const projection = projectSavings(policy, stats, windowMs);
    const compiled = new CompiledPolicy(policy);
    const rand = mulberry32(11);
    let bytesIn = 0;
    let bytesKept = 0;
    for (const s of stats) {
      const per = s.bytes / s.count;
      const sevs = Object.entries(s.severities) as Array<[LogSeverity, number]>;
      for (const [sev, n] of sevs)
        for (let i = 0; i < n; i++) {
          bytesIn += per;
          if (compiled.keep(s.patternId, sev, rand())) bytesKept += per;
        }
    }
    const actualShare = 1 - bytesKept / bytesIn;
    expect(Math.abs(projection.savedShare - actualShare)).toBeLessThan(0.005);
    const monthFactor = (30 * 24 * 60) / 60;
    const actualSavedGb = ((bytesIn - bytesKept) * monthFactor) / 1e9;
    expect(projection.savedGbPerMonth).toBeCloseTo(actualSavedGb, 1);
    const m = DEFAULT_LOG_COST_MODEL;
    expect(projection.savedUsdPerMonth).toBeCloseTo(
      projection.savedGbPerMonth * (m.ingestUsdPerGb + m.retainUsdPerGbMonth * m.retentionMonths),
      6,
    );
    expect(projection.byRule[0]?.patternId).toBe('p_health');
  });

  it('caps lines per minute when asked', () => {
    const policy = generatePolicy('api', stats, { windowMs: HOUR, targetPerMinute: 60, capFactor: 2 });
    expect(policy.rules[0]?.maxPerMinute).toBe(120);
    const compiled = new CompiledPolicy({ ...policy, rules: [{ patternId: 'p_health', rate: 1, maxPerMinute: 5 }] });
    const caps = new SamplingCaps();
    const kept = Array.from({ length: 20 }, (_, i) => compiled.keep('p_health', 'info', 0, caps, 60_000 + i)).filter(
      Boolean,
    );
    expect(kept).toHaveLength(5);
    expect(compiled.keep('p_health', 'info', 0, caps, 120_000)).toBe(true);
  });
});

describe('validatePolicySafety', () => {
  const base = { service: 'api', alwaysKeepFrom: 'warn' as const, defaultRate: 1 };
  it('rejects every unsafe shape, naming the field', () => {
    const problems = validatePolicySafety(
      {
        ...base,
        alwaysKeepFrom: 'fatal',
        defaultRate: 0.5,
        rules: [
          { patternId: 'a', rate: 0 },
          { patternId: 'b', rate: 0.5, severity: 'fatal' },
          { patternId: 'c', rate: 0.1 },
          { patternId: 'c', rate: 0.2 },
        ],
      },
      {},
      new Map([['c', 0.2]]),
    );
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'alwaysKeepFrom',
        'defaultRate',
        'rules.0.rate',
        'rules.1.severity',
        'rules.2.rate',
        'rules.3',
      ]),
    );
    expect(problems.find((p) => p.path === 'rules.2.rate')?.message).toMatch(/rare/);
  });
  it('accepts a plain sampling rule', () => {
    expect(validatePolicySafety({ ...base, rules: [{ patternId: 'a', rate: 0.05 }] })).toEqual([]);
  });
});

describe('diffPolicies', () => {
  it('lists added, removed and changed rules and settings', () => {
    const a = {
      service: 's',
      alwaysKeepFrom: 'warn' as const,
      defaultRate: 1,
      rules: [
        { patternId: 'x', rate: 0.1 },
        { patternId: 'y', rate: 0.2 },
      ],
    };
    const b = {
      service: 's',
      alwaysKeepFrom: 'info' as const,
      defaultRate: 1,
      rules: [
        { patternId: 'x', rate: 0.3 },
        { patternId: 'z', rate: 0.5 },
      ],
    };
    const d = diffPolicies(a, b);
    expect(d.added.map((r) => r.patternId)).toEqual(['z']);
    expect(d.removed.map((r) => r.patternId)).toEqual(['y']);
    expect(d.changed).toEqual([{ patternId: 'x', severity: null, from: a.rules[0], to: b.rules[0] }]);
    expect(d.settings).toEqual([{ field: 'alwaysKeepFrom', from: 'warn', to: 'info' }]);
  });
});
