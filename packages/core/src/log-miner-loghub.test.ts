import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupingAccuracy, parseCsv, parsingAccuracy, readStructured } from '../../../bench/loghub.js';
import { LogMiner } from './log-miner.js';

const loghub = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'bench-data', 'loghub');

describe('Loghub metrics', () => {
  it('GA counts a parsed group only when it is exactly one ground-truth group', () => {
    // Truth: A A B B C; parsed: x x y y y → group A exact (2 rows); B and C merged into y.
    expect(groupingAccuracy(['A', 'A', 'B', 'B', 'C'], ['x', 'x', 'y', 'y', 'y']).ga).toBeCloseTo(2 / 5);
    // Splitting a truth group is wrong too: A split into x and z.
    const r = groupingAccuracy(['A', 'A', 'B'], ['x', 'z', 'y']);
    expect(r.ga).toBeCloseTo(1 / 3);
    // FGA: 1 correct of 3 parsed groups and of 2 truth groups → F1(1/3, 1/2).
    expect(r.fga).toBeCloseTo((2 * (1 / 3) * (1 / 2)) / (1 / 3 + 1 / 2));
    expect(parsingAccuracy(['a <*>', 'b'], ['a <*>', 'c'])).toBe(0.5);
  });

  it('parses quoted CSV fields with commas, doubled quotes and CRLF', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n3,4')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['3', '4'],
    ]);
  });
});

describe.skipIf(!existsSync(loghub))('LogMiner on Loghub-2k (one configuration for every system)', () => {
  it('reaches an average grouping accuracy of at least 0.92', () => {
    const systems = readdirSync(loghub).filter((d) => existsSync(join(loghub, d, `${d}_2k.log_structured.csv`)));
    expect(systems.length).toBeGreaterThanOrEqual(8);
    const scores = systems.map((s) => {
      const data = readStructured(join(loghub, s, `${s}_2k.log_structured.csv`));
      const miner = new LogMiner();
      const ids = data.content.map((m) => miner.add(m).patternId).map((id) => miner.resolveId(id));
      return groupingAccuracy(data.eventId, ids).ga;
    });
    const avg = scores.reduce((a, b) => a + b, 0) / scores.length;
    expect(avg).toBeGreaterThanOrEqual(0.92);
  });
});
