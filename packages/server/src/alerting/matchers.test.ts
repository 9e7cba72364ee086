import { describe, expect, it } from 'vitest';
import { fingerprint } from './labels.js';
import { matchesAll, parseMatcher, parseMatchers } from './matchers.js';
import { inTimeInterval, parseTimeInterval } from './time-intervals.js';

describe('matchers', () => {
  it('parses the four operators, quoted values and anchors regexes', () => {
    const r = parseMatchers(['env="prod"', 'team!=web', 'alertname=~"Cost.*"', 'model!~gpt-4.*']);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(matchesAll(r.value, { env: 'prod', team: 'ml', alertname: 'CostHigh', model: 'claude' })).toBe(true);
    expect(matchesAll(r.value, { env: 'prod', team: 'ml', alertname: 'XCostHigh', model: 'claude' })).toBe(false);
    expect(matchesAll(r.value, { env: 'prod', team: 'ml', alertname: 'Cost', model: 'gpt-4o' })).toBe(false);
    // A missing label matches as the empty string.
    expect(matchesAll([{ name: 'x', op: '=', value: '' }], {})).toBe(true);
  });

  it('reports every bad matcher', () => {
    const r = parseMatchers(['ok="1"', 'no operator', 'bad=~"("']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toHaveLength(2);
    expect(r.error[0]).toContain('cannot parse matcher');
    expect(r.error[1]).toContain('invalid regex');
    expect(parseMatcher('a="x\\"y"')).toEqual({ ok: true, value: { name: 'a', op: '=', value: 'x"y' } });
  });

  it('fingerprints do not depend on label order and separate values', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: 'b,c' })).not.toBe(fingerprint({ a: 'b', c: '' }));
  });
});

describe('time intervals', () => {
  it('reports every problem', () => {
    const r = parseTimeInterval({
      times: [{ start_time: '25:00', end_time: '04:00' }],
      weekdays: ['funday', 'saturday:monday'],
      location: 'Mars/Base',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.join('\n')).toMatch(/Mars\/Base[\s\S]*25:00[\s\S]*funday[\s\S]*saturday:monday/);
  });

  it('days of month from the end, months by name, in a zone across a DST change', () => {
    const r = parseTimeInterval({ days_of_month: ['-1'], months: ['march'], location: 'Europe/London' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(inTimeInterval(r.value, Date.UTC(2026, 2, 31, 12))).toBe(true);
    expect(inTimeInterval(r.value, Date.UTC(2026, 2, 30, 12))).toBe(false);
    // 23:30 UTC on 31 March is 00:30 on 1 April in London (BST).
    expect(inTimeInterval(r.value, Date.UTC(2026, 2, 31, 23, 30))).toBe(false);
  });
});
