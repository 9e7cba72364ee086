/**
 * The price book's state: user price entries with every version kept (history), model aliases,
 * and a revision counter that tells every node when to rebuild its price index. Written once
 * against the state SQL port (DuckDB embedded, PostgreSQL in cluster mode); the contract suite
 * (`price-repo.contract.ts`) runs on both.
 */

import type { PriceEntry } from '@reskpoints/core';
import { type SqlDatabase, type SqlExecutor, sqlNumber } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import { COST_JOBS_MIGRATION } from './cost-jobs-repo.js';
import type { ModelAlias } from './price-book.js';

export const COST_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'price entries with history, model aliases, book revision',
    steps: [
      // One row per version of a user entry; a deleted entry gets a tombstone version.
      `CREATE TABLE cost_price_versions (
        entry_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        project_id TEXT,
        provider TEXT NOT NULL,
        effective_from_ms BIGINT NOT NULL,
        origin TEXT NOT NULL,
        deleted BOOLEAN NOT NULL,
        body TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        created_by TEXT,
        PRIMARY KEY (entry_id, version)
      )`,
      // scope '' = global; otherwise the project id (a primary key cannot hold NULL).
      `CREATE TABLE cost_model_aliases (
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        model TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        PRIMARY KEY (scope, name)
      )`,
      'CREATE TABLE cost_book_revision (id INTEGER NOT NULL PRIMARY KEY, revision BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL)',
      'INSERT INTO cost_book_revision (id, revision, updated_at_ms) VALUES (1, 0, 0)',
    ],
  },
  COST_JOBS_MIGRATION,
];

/** One stored version of a user entry. */
export interface StoredPriceVersion {
  entry: PriceEntry;
  /** 1, 2, … per entry, in the order written. */
  versionNumber: number;
  deleted: boolean;
  createdAtMs: number;
  createdBy: string | null;
}

/** What to write: a new version of `entry.id` (its `version` is assigned by the repository). */
export interface NewPriceVersion {
  entry: Omit<PriceEntry, 'version'>;
  deleted?: boolean;
  createdBy?: string | null;
  /** Only write when the entry's newest version is (not) a live one; checked in the same transaction. */
  expect?: 'absent-or-deleted' | 'live';
}

export type AppendOutcome =
  | { ok: true; version: StoredPriceVersion }
  | { ok: false; reason: 'exists' | 'missing'; current: StoredPriceVersion | null };

interface VersionRow {
  entry_id: string;
  version: unknown;
  deleted: boolean;
  body: string;
  created_at_ms: unknown;
  created_by: string | null;
}

const COLUMNS = 'entry_id, version, deleted, body, created_at_ms, created_by';

function fromRow(r: VersionRow): StoredPriceVersion {
  const versionNumber = sqlNumber(r.version);
  const body = JSON.parse(r.body) as Omit<PriceEntry, 'version'>;
  return {
    entry: { ...body, version: String(versionNumber) },
    versionNumber,
    deleted: r.deleted === true,
    createdAtMs: sqlNumber(r.created_at_ms),
    createdBy: r.created_by,
  };
}

export class PriceRepo {
  constructor(private readonly db: SqlDatabase) {}

  /** Every version of every entry, oldest first per entry. */
  async allVersions(): Promise<StoredPriceVersion[]> {
    const rows = await this.db.query<VersionRow & Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM cost_price_versions ORDER BY entry_id, version`,
    );
    return rows.map(fromRow);
  }

  /** The versions of one entry, oldest first; empty when it never existed. */
  async history(entryId: string, exec: SqlExecutor = this.db): Promise<StoredPriceVersion[]> {
    const rows = await exec.query<VersionRow & Record<string, unknown>>(
      `SELECT ${COLUMNS} FROM cost_price_versions WHERE entry_id = $1 ORDER BY version`,
      [entryId],
    );
    return rows.map(fromRow);
  }

  /** Appends versions (all or none) and bumps the book revision, in one transaction. */
  async append(items: readonly NewPriceVersion[], nowMs: number): Promise<AppendOutcome[]> {
    return this.db.transaction(async (tx) => {
      const lock = tx.dialect.transactionLock('reskpoints.cost.prices');
      if (lock) await tx.query(lock.sql, lock.params);
      const out: AppendOutcome[] = [];
      for (const item of items) {
        const versions = await this.history(item.entry.id, tx);
        const current = versions[versions.length - 1] ?? null;
        const live = current != null && !current.deleted;
        if (item.expect === 'absent-or-deleted' && live) {
          out.push({ ok: false, reason: 'exists', current });
          continue;
        }
        if (item.expect === 'live' && !live) {
          out.push({ ok: false, reason: 'missing', current });
          continue;
        }
        const versionNumber = (current?.versionNumber ?? 0) + 1;
        const e = item.entry;
        const body = JSON.stringify(e);
        await tx.exec(
          `INSERT INTO cost_price_versions
             (entry_id, version, project_id, provider, effective_from_ms, origin, deleted, body, created_at_ms, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            e.id,
            versionNumber,
            e.projectId,
            e.provider,
            e.effectiveFromMs,
            e.origin,
            item.deleted === true,
            body,
            nowMs,
            item.createdBy ?? null,
          ],
        );
        out.push({
          ok: true,
          version: {
            entry: { ...e, version: String(versionNumber) },
            versionNumber,
            deleted: item.deleted === true,
            createdAtMs: nowMs,
            createdBy: item.createdBy ?? null,
          },
        });
      }
      if (out.some((o) => o.ok)) await bumpRevision(tx, nowMs);
      return out;
    });
  }

  async aliases(): Promise<ModelAlias[]> {
    const rows = await this.db.query<{ scope: string; name: string; model: string }>(
      'SELECT scope, name, model FROM cost_model_aliases ORDER BY scope, name',
    );
    return rows.map((r) => ({ projectId: r.scope === '' ? null : r.scope, name: r.name, model: r.model }));
  }

  async setAlias(alias: ModelAlias, nowMs: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.exec(
        `INSERT INTO cost_model_aliases (scope, name, model, updated_at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope, name) DO UPDATE SET model = excluded.model, updated_at_ms = excluded.updated_at_ms`,
        [alias.projectId ?? '', alias.name.toLowerCase(), alias.model, nowMs],
      );
      await bumpRevision(tx, nowMs);
    });
  }

  /** True when the alias existed. */
  async deleteAlias(name: string, projectId: string | null, nowMs: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const n = await tx.exec('DELETE FROM cost_model_aliases WHERE scope = $1 AND name = $2', [
        projectId ?? '',
        name.toLowerCase(),
      ]);
      if (n > 0) await bumpRevision(tx, nowMs);
      return n > 0;
    });
  }

  /** Grows with every change to entries or aliases; nodes rebuild their index when it moves. */
  async revision(): Promise<number> {
    const rows = await this.db.query<{ revision: unknown }>('SELECT revision FROM cost_book_revision WHERE id = 1');
    return rows[0] ? sqlNumber(rows[0].revision) : 0;
  }
}

async function bumpRevision(tx: SqlExecutor, nowMs: number): Promise<void> {
  await tx.exec('UPDATE cost_book_revision SET revision = revision + 1, updated_at_ms = $1 WHERE id = 1', [nowMs]);
}
