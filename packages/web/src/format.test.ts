import { describe, expect, it } from 'vitest';
import { formatAgo, formatChange, formatCount, formatDurationMs, formatPercent, formatUsd } from './format.js';

describe('formatUsd', () => {
  it('formats money with thousands separators and cents', () => {
    expect(formatUsd(1234.567)).toBe('$1,234.57');
    expect(formatUsd(1)).toBe('$1.00');
    expect(formatUsd(0.5)).toBe('$0.50');
    expect(formatUsd(0)).toBe('$0.00');
  });
  it('keeps significant digits of small amounts', () => {
    expect(formatUsd(0.0042)).toBe('$0.0042');
    expect(formatUsd(0.000125)).toBe('$0.000125');
  });
  it('shows unknown cost as a dash, not $0', () => {
    expect(formatUsd(null)).toBe('—');
    expect(formatUsd(undefined)).toBe('—');
  });
});

describe('formatCount', () => {
  it('separates thousands and compacts large numbers on request', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(9999, true)).toBe('9,999');
    expect(formatCount(12_345, true)).toBe('12.3K');
    expect(formatCount(4_500_000, true)).toBe('4.5M');
    expect(formatCount(250_000_000, true)).toBe('250M');
    expect(formatCount(null)).toBe('—');
  });
});

describe('formatDurationMs', () => {
  it('picks a unit people read', () => {
    expect(formatDurationMs(0.5)).toBe('0.50 ms');
    expect(formatDurationMs(842.4)).toBe('842 ms');
    expect(formatDurationMs(1240)).toBe('1.24 s');
    expect(formatDurationMs(12_400)).toBe('12.4 s');
    expect(formatDurationMs(125_000)).toBe('2 min 5 s');
    expect(formatDurationMs(3 * 3_600_000 + 10 * 60_000)).toBe('3 h 10 min');
  });
});

describe('formatPercent and formatChange', () => {
  it('formats ratios', () => {
    expect(formatPercent(0.024)).toBe('2.4%');
    expect(formatPercent(0.0005)).toBe('0.05%');
    expect(formatPercent(0.5)).toBe('50%');
    expect(formatPercent(0)).toBe('0%');
  });
  it('signs changes and names the cases without a base', () => {
    expect(formatChange(112, 100)).toBe('+12%');
    expect(formatChange(96.6, 100)).toBe('-3.4%');
    expect(formatChange(5, 0)).toBe('new');
    expect(formatChange(0, 0)).toBe('0%');
    expect(formatChange(null, 3)).toBe('—');
  });
});

describe('formatAgo', () => {
  it('says how long ago', () => {
    expect(formatAgo(1000, 6000)).toBe('5 s ago');
    expect(formatAgo(0, 3 * 60_000)).toBe('3 min ago');
    expect(formatAgo(0, 2 * 3_600_000)).toBe('2 h ago');
  });
});
