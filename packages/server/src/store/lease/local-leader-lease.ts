/**
 * LeaderLease for embedded mode, where one process is the whole cluster and so always the
 * leader. Tokens grow with each acquisition after a release, like the PostgreSQL lease, so
 * code written against fencing behaves the same in both modes.
 */
import type { LeaderLease } from '../ports.js';

export class LocalLeaderLease implements LeaderLease {
  private token: number | null = null;
  private lastToken = 0;

  async tryAcquire(): Promise<number | null> {
    if (this.token === null) {
      this.lastToken++;
      this.token = this.lastToken;
    }
    return this.token;
  }

  async release(): Promise<void> {
    this.token = null;
  }
}

export function createLocalLeaderLease(): LocalLeaderLease {
  return new LocalLeaderLease();
}
