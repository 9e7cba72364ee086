import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseRulesYaml, renderTemplate } from './rules.js';

describe('rules', () => {
  it('parses a YAML rules file with durations and defaults', () => {
    const r = parseRulesYaml(`
rules:
  - name: CostUp
    metric: costUsd
    window: 1h
    change: { percent: 50, baseline: 7d }
    for: 10m
    labels: { severity: warn }
  - name: Silent
    metric: requests
    window: 15m
    groupBy: [model]
    absent: {}
`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value[0]).toMatchObject({
      window: 3_600_000,
      for: 600_000,
      change: { op: '>', percent: 50, baseline: 604_800_000 },
    });
    expect(r.value[1]).toMatchObject({ absent: { lookback: 86_400_000 }, interval: 60_000 });
  });

  it('reports every problem with the rule it belongs to', () => {
    const r = parseRulesYaml(
      `
rules:
  - name: A
    metric: costs
    threshold: { op: '>', value: 1 }
  - name: B
    metric: costUsd
    window: 5 minutes
  - name: A
    metric: requests
    threshold: { op: '>', value: 1 }
    absent: {}
`,
      'rules.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.join('\n');
    expect(text).toContain('rules.yaml: rules[0] (A).metric');
    expect(text).toContain('rules[1] (B).window: "5 minutes" is not a duration');
    expect(text).toContain('rules[2] (A): give exactly one of threshold, change, absent');
    expect(parseRulesYaml('rules: [').ok).toBe(false);
  });

  it('durations and templates', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(
      renderTemplate('cost {{ $value }} > {{$threshold}} on {{ $labels.model }}{{ $labels.none }}', {
        value: 12.3456789,
        threshold: 10,
        labels: { model: 'gpt-4o' },
      }),
    ).toBe('cost 12.3457 > 10 on gpt-4o');
  });
});
