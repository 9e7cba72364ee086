import { describe, expect, it } from 'vitest';
import { assertMigrationList, pendingMigrations } from './migrations.js';

const list = [
  { version: 1, name: 'one', steps: ['a'] },
  { version: 2, name: 'two', steps: ['b'] },
  { version: 5, name: 'five', steps: ['c'] },
];

describe('migrations', () => {
  it('returns the versions not applied yet, in order', () => {
    expect(pendingMigrations(list, []).map((m) => m.version)).toEqual([1, 2, 5]);
    expect(pendingMigrations(list, [1]).map((m) => m.version)).toEqual([2, 5]);
    expect(pendingMigrations(list, [1, 2, 5])).toEqual([]);
  });

  it('refuses a list whose versions do not increase', () => {
    expect(() => assertMigrationList([list[1]!, list[0]!])).toThrow(/increase/);
    expect(() => assertMigrationList([list[0]!, list[0]!])).toThrow(/increase/);
    expect(() => assertMigrationList([{ version: 0, name: 'zero', steps: [] }])).toThrow();
  });
});
