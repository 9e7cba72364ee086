import { createHash, timingSafeEqual } from 'node:crypto';
import { type Clock, randomHex } from '@reskpoints/core';
import type { StateStore } from '../store/ports.js';

export type Principal = { kind: 'admin' } | { kind: 'project'; projectId: string; keyId: string };

export const INGEST_KEY_PREFIX = 'rpk_';

export function generateIngestKey(): string {
  return `${INGEST_KEY_PREFIX}${randomHex(20)}`;
}

export function generateAdminToken(): string {
  return `rpa_${randomHex(24)}`;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Pulls the credential out of `Authorization: Bearer …` (or the `token` query parameter for WebSockets). */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

interface CacheEntry {
  principal: Principal | null;
  expiresAtMs: number;
}

export interface AuthenticatorOptions {
  state: StateStore;
  clock: Clock;
  /** SHA-256 hex of the admin token. */
  adminTokenHash: string;
  /** How long a key lookup is cached; a revoked key stops working within this time. Default 10 s. */
  cacheTtlMs?: number;
  /** Most cached lookups (including misses); default 10,000. */
  cacheMaxEntries?: number;
}

/**
 * Resolves a bearer credential to a principal. Keys are stored hashed, so a lookup hashes the
 * presented key; results (misses too) are cached briefly to keep ingest off the state store.
 */
export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly adminHash: Buffer;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.adminHash = Buffer.from(opts.adminTokenHash, 'hex');
  }

  async authenticate(token: string | null): Promise<Principal | null> {
    if (!token || token.length > 256) return null;
    const hash = sha256Hex(token);
    const hashBuf = Buffer.from(hash, 'hex');
    if (hashBuf.length === this.adminHash.length && timingSafeEqual(hashBuf, this.adminHash)) return { kind: 'admin' };
    const now = this.opts.clock.nowMs();
    const hit = this.cache.get(hash);
    if (hit && hit.expiresAtMs > now) return hit.principal;
    const record = await this.opts.state.findApiKeyByHash(hash);
    const principal: Principal | null = record
      ? { kind: 'project', projectId: record.projectId, keyId: record.id }
      : null;
    if (this.cache.size >= (this.opts.cacheMaxEntries ?? 10_000)) this.cache.clear();
    this.cache.set(hash, { principal, expiresAtMs: now + (this.opts.cacheTtlMs ?? 10_000) });
    return principal;
  }

  /** Forgets cached lookups, e.g. right after a key is revoked on this node. */
  invalidate(): void {
    this.cache.clear();
  }
}
