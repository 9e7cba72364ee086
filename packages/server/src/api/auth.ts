import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
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

/**
 * A Langfuse-style key pair for a project: Langfuse SDKs send it as HTTP Basic credentials
 * (public key as user name, secret key as password). Only the hash of `public:secret` is kept.
 */
export function generateLangfuseKeyPair(): { publicKey: string; secretKey: string } {
  return { publicKey: `pk-lf-${randomUUID()}`, secretKey: `sk-lf-${randomUUID()}` };
}

/** The credential a Langfuse key pair authenticates with (what its hash is taken of). */
export function langfuseCredential(publicKey: string, secretKey: string): string {
  return `${publicKey}:${secretKey}`;
}

/** Pulls the credential out of `Authorization: Bearer …` (or the `token` query parameter for WebSockets). */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

/**
 * `Authorization: Basic base64(user:password)` as the credential `user:password`, which is how a
 * Langfuse key pair authenticates; null for any other scheme or a malformed value.
 */
export function basicCredential(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return null;
  return decoded;
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
