/**
 * Versioned schema migrations, shared by every adapter. A migration list is ordered by
 * version; each adapter records applied versions in a `schema_migrations` table
 * (version, name, applied_at) and applies the pending ones in order, so running
 * `migrate()` again is a no-op.
 */

export interface Migration<Step = string> {
  /** Strictly increasing, starting at 1; never reused once released. */
  version: number;
  /** Short description, e.g. 'create llm_calls'. */
  name: string;
  /** What the adapter executes, in order (SQL statements for SQL backends). */
  steps: readonly Step[];
}

/** Throws when the list is not strictly increasing: a malformed list is a bug. */
export function assertMigrationList(migrations: readonly Migration<unknown>[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migration versions must increase strictly: ${m.version} after ${previous} (${m.name})`);
    }
    previous = m.version;
  }
}

/** The migrations not applied yet, in order. */
export function pendingMigrations<Step>(
  migrations: readonly Migration<Step>[],
  appliedVersions: Iterable<number>,
): Migration<Step>[] {
  assertMigrationList(migrations);
  const applied = new Set(appliedVersions);
  return migrations.filter((m) => !applied.has(m.version));
}
