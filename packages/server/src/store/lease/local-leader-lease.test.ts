import { describe, expect, it } from 'vitest';
import { LocalLeaderLease } from './local-leader-lease.js';

describe('LocalLeaderLease', () => {
  it('is always held; renewals keep the token, a new acquisition after release gets a larger one', async () => {
    const lease = new LocalLeaderLease();
    const first = await lease.tryAcquire();
    expect(first).toBe(1);
    expect(await lease.tryAcquire()).toBe(first);
    await lease.release();
    const second = await lease.tryAcquire();
    expect(second).toBeGreaterThan(first as number);
  });
});
