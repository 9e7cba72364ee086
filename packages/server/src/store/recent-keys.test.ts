import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyHash, RecentKeys } from './recent-keys.js';

describe('RecentKeys', () => {
  it('answers "not stored" only for keys it never saw, inside the covered range', () => {
    const recent = new RecentKeys(1_000);
    const a = keyHash('prj', 'a');
    expect(recent.mayBeStored(a, 5_000)).toBe(false);
    // Before the covered range nothing is known.
    expect(recent.mayBeStored(a, 999)).toBe(true);
    recent.add(a, 5_000);
    expect(recent.mayBeStored(a, 5_000)).toBe(true);
    // The same key at another time, and other keys at the same time, are new.
    expect(recent.mayBeStored(a, 25_000)).toBe(false);
    expect(recent.mayBeStored(keyHash('prj', 'b'), 5_000)).toBe(false);
    expect(recent.mayBeStored(keyHash('other', 'a'), 5_000)).toBe(false);
  });

  it('keeps the parts of a key apart', () => {
    expect(keyHash('ab', 'c')).not.toBe(keyHash('a', 'bc'));
    expect(keyHash('a', 'b', 'c')).not.toBe(keyHash('a', 'bc'));
    expect(keyHash('', '')).not.toBe(0);
    expect(keyHash('a', 'b')).not.toBe(keyHash('a', 'b', ''));
  });

  it('gives distinct hashes to a million ids that differ in a few characters', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1_000_000; i++) seen.add(keyHash('prj_live', `0123456789abcdef-${i}`));
    expect(seen.size).toBe(1_000_000);
  });

  it('drops the oldest buckets past its budget and stops answering for them', () => {
    const recent = new RecentKeys(Number.NEGATIVE_INFINITY, { maxBytes: 64 * 1024, bucketMs: 1_000 });
    for (let i = 0; i < 20_000; i++) recent.add(keyHash('p', String(i)), i);
    expect(recent.memoryBytes).toBeLessThanOrEqual(64 * 1024);
    expect(recent.coveredFromMs).toBeGreaterThan(0);
    expect(recent.coveredFromMs % 1_000).toBe(0);
    // Evicted keys are "maybe" again (the database decides); kept ones are still known.
    expect(recent.mayBeStored(keyHash('p', '0'), 0)).toBe(true);
    expect(recent.mayBeStored(keyHash('p', '19999'), 19_999)).toBe(true);
    expect(recent.mayBeStored(keyHash('p', 'new'), 19_999)).toBe(false);
  });

  it('never answers "not stored" for a key it was given (property)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'),
      timeMs: fc.integer({ min: -16, max: 16 }).map((x) => x * 500 - (x % 3)),
      add: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 400 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 300, max: 4_000 }),
        (ops, coverFrom, maxBytes) => {
          const recent = new RecentKeys(coverFrom, { maxBytes, bucketMs: 1_000 });
          // An event is a key at a time; the table only knows keys per bucket of time.
          const added = new Set<string>();
          const addedToBucket = new Set<string>();
          for (const { key, timeMs, add } of ops) {
            const h = keyHash('p', key);
            const event = `${key}\u0000${timeMs}`;
            const inBucket = `${key}\u0000${Math.floor(timeMs / 1_000)}`;
            if (added.has(event)) expect(recent.mayBeStored(h, timeMs)).toBe(true);
            if (timeMs < recent.coveredFromMs) expect(recent.mayBeStored(h, timeMs)).toBe(true);
            else if (!addedToBucket.has(inBucket)) expect(recent.mayBeStored(h, timeMs)).toBe(false);
            if (add) {
              recent.add(h, timeMs);
              added.add(event);
              addedToBucket.add(inBucket);
            }
          }
          expect(recent.memoryBytes).toBeLessThanOrEqual(maxBytes);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
