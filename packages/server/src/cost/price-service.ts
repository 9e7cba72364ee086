/**
 * The price book as a service: the read-only catalogue plus the user's entries and aliases
 * from the state database, compiled into one price index that ingest reads synchronously.
 * Writes go to the state database and bump its revision; every node rebuilds its index when
 * the revision moves (at once on the node that wrote, within `refreshIntervalMs` elsewhere).
 */
import {
  type AppError,
  appError,
  type Clock,
  err,
  ok,
  type PriceBook,
  type PriceEntry,
  type PriceEntryInput,
  type Result,
} from '@reskpoints/core';
import type { CatalogueProvider } from './catalogue.js';
import { defaultEntryId, entryFromInput, importLiteLlm, parseInstant } from './entries.js';
import { IndexedPriceBook, type ModelAlias } from './price-book.js';
import type { NewPriceVersion, PriceRepo, StoredPriceVersion } from './price-repo.js';

/** One entry as listed: the version in force now (or the newest, when none is yet). */
export interface PriceListItem {
  entry: PriceEntry;
  /** Catalogue entries cannot be changed; override them with a user entry. */
  readOnly: boolean;
  /** How many versions the entry has (catalogue: dated prices; user: versions written). */
  versions: number;
}

export interface PriceHistoryItem {
  entry: PriceEntry;
  deleted: boolean;
  /** When the version was written (null for catalogue versions). */
  createdAtMs: number | null;
  createdBy: string | null;
}

export interface PriceFilter {
  provider?: string;
  /** Entries whose match fits this model name. */
  model?: string;
  /** `null`: global entries only; a project id: that project's overrides only. */
  projectId?: string | null;
  origin?: PriceEntry['origin'];
}

export interface ImportResult {
  created: number;
  updated: number;
  skipped: { key: string; reason: string }[];
}

interface Snapshot {
  revision: number;
  book: IndexedPriceBook;
  /** Live versions of user entries (after their last deletion), by entry id, oldest first. */
  user: Map<string, StoredPriceVersion[]>;
  aliases: ModelAlias[];
}

export interface PriceServiceOptions {
  repo: PriceRepo;
  catalogue: CatalogueProvider[];
  clock: Clock;
  /** Aliases from the configuration (global); stored aliases take precedence. */
  configAliases?: () => ModelAlias[];
}

const notFound = (id: string): AppError => appError('RP_NOT_FOUND', `price entry ${id} does not exist`);

export class PriceService {
  private snapshot: Snapshot;
  private readonly catalogueById = new Map<string, PriceEntry[]>();
  private refreshing: Promise<boolean> | null = null;

  private constructor(
    private readonly opts: PriceServiceOptions,
    initial: Snapshot,
  ) {
    this.snapshot = initial;
    for (const p of opts.catalogue) {
      for (const e of p.entries) {
        const list = this.catalogueById.get(e.id);
        if (list == null) this.catalogueById.set(e.id, [e]);
        else list.push(e);
      }
    }
  }

  static async open(opts: PriceServiceOptions): Promise<PriceService> {
    return new PriceService(opts, await PriceService.load(opts));
  }

  private static async load(opts: PriceServiceOptions): Promise<Snapshot> {
    const revision = await opts.repo.revision();
    const [versions, stored] = await Promise.all([opts.repo.allVersions(), opts.repo.aliases()]);
    const user = new Map<string, StoredPriceVersion[]>();
    for (const v of versions) {
      // A deletion ends the entry's history for pricing; a later create starts a new one.
      if (v.deleted) user.delete(v.entry.id);
      else {
        const list = user.get(v.entry.id);
        if (list == null) user.set(v.entry.id, [v]);
        else list.push(v);
      }
    }
    const aliases = [...(opts.configAliases?.() ?? []), ...stored];
    const book = new IndexedPriceBook({
      catalogue: opts.catalogue,
      userEntries: [...user.values()].flatMap((list) => list.map((v) => v.entry)),
      aliases,
    });
    return { revision, book, user, aliases };
  }

  /** The price index in force; swapped atomically when prices change. */
  get book(): PriceBook {
    return this.snapshot.book;
  }

  get revision(): number {
    return this.snapshot.revision;
  }

  /** Rebuilds the index when the stored revision moved (or always, with `force`). True when rebuilt. */
  refresh(force = false): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      try {
        if (!force && (await this.opts.repo.revision()) === this.snapshot.revision) return false;
        this.snapshot = await PriceService.load(this.opts);
        return true;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  list(filter: PriceFilter = {}): PriceListItem[] {
    const nowMs = this.opts.clock.nowMs();
    const out: PriceListItem[] = [];
    for (const versions of this.snapshot.user.values()) {
      out.push({
        entry: inForce(
          versions.map((v) => v.entry),
          nowMs,
        ),
        readOnly: false,
        versions: versions.length,
      });
    }
    for (const versions of this.catalogueById.values()) {
      out.push({ entry: inForce(versions, nowMs), readOnly: true, versions: versions.length });
    }
    const model = filter.model?.trim().toLowerCase();
    return out.filter((i) => {
      const e = i.entry;
      if (filter.provider != null && e.provider !== filter.provider.toLowerCase()) return false;
      if (filter.origin != null && e.origin !== filter.origin) return false;
      if (filter.projectId !== undefined && e.projectId !== filter.projectId) return false;
      if (model != null && !e.match.some((m) => matches(m, model))) return false;
      return true;
    });
  }

  get(id: string): Result<PriceListItem> {
    const user = this.snapshot.user.get(id);
    const nowMs = this.opts.clock.nowMs();
    if (user != null)
      return ok({
        entry: inForce(
          user.map((v) => v.entry),
          nowMs,
        ),
        readOnly: false,
        versions: user.length,
      });
    const cat = this.catalogueById.get(id);
    if (cat != null) return ok({ entry: inForce(cat, nowMs), readOnly: true, versions: cat.length });
    return err(notFound(id));
  }

  /** Every version, oldest first; for user entries including deletions. */
  async history(id: string): Promise<Result<PriceHistoryItem[]>> {
    const cat = this.catalogueById.get(id);
    if (cat != null) {
      return ok(
        [...cat]
          .sort((a, b) => a.effectiveFromMs - b.effectiveFromMs)
          .map((entry) => ({ entry, deleted: false, createdAtMs: null, createdBy: null })),
      );
    }
    const versions = await this.opts.repo.history(id);
    if (versions.length === 0) return err(notFound(id));
    return ok(
      versions.map((v) => ({ entry: v.entry, deleted: v.deleted, createdAtMs: v.createdAtMs, createdBy: v.createdBy })),
    );
  }

  async create(input: PriceEntryInput, createdBy: string | null): Promise<Result<PriceListItem>> {
    let id = input.id ?? defaultEntryId(input);
    // A generated id never shadows a catalogue id: the entry overrides it under its own name.
    if (input.id == null && this.catalogueById.has(id)) id = `${id}-override`;
    if (this.catalogueById.has(id))
      return err(appError('RP_CONFLICT', `${id} is a catalogue entry; give the override another id`));
    const entry = this.toEntry(input, id);
    if (!entry.ok) return entry;
    const [outcome] = await this.opts.repo.append(
      [{ entry: entry.value, createdBy, expect: 'absent-or-deleted' }],
      this.opts.clock.nowMs(),
    );
    if (!outcome?.ok)
      return err(appError('RP_CONFLICT', `price entry ${id} exists already; PUT a new version instead`));
    await this.refresh(true);
    return this.get(id);
  }

  /** Writes a new version of a user entry. */
  async update(id: string, input: PriceEntryInput, createdBy: string | null): Promise<Result<PriceListItem>> {
    if (this.catalogueById.has(id))
      return err(appError('RP_CONFLICT', `${id} is a read-only catalogue entry; create an override with another id`));
    if (input.id != null && input.id !== id)
      return err(appError('RP_VALIDATION', `id in the body (${input.id}) differs from the path (${id})`));
    const entry = this.toEntry(input, id);
    if (!entry.ok) return entry;
    const [outcome] = await this.opts.repo.append(
      [{ entry: entry.value, createdBy, expect: 'live' }],
      this.opts.clock.nowMs(),
    );
    if (!outcome?.ok) return err(notFound(id));
    await this.refresh(true);
    return this.get(id);
  }

  /** Deletes a user entry (a tombstone version: its history stays readable). */
  async delete(id: string, createdBy: string | null): Promise<Result<{ id: string }>> {
    if (this.catalogueById.has(id)) return err(appError('RP_CONFLICT', `${id} is a read-only catalogue entry`));
    const versions = await this.opts.repo.history(id);
    const last = versions[versions.length - 1];
    if (last == null || last.deleted) return err(notFound(id));
    const { version: _version, ...entry } = last.entry;
    const [outcome] = await this.opts.repo.append(
      [{ entry, deleted: true, createdBy, expect: 'live' }],
      this.opts.clock.nowMs(),
    );
    if (!outcome?.ok) return err(notFound(id));
    await this.refresh(true);
    return ok({ id });
  }

  /** Imports a LiteLLM-format price file: new entries are created, existing ones get a new version. */
  async importLiteLlm(
    doc: unknown,
    opts: { projectId: string | null; effectiveFrom?: string | number },
    createdBy: string | null,
  ): Promise<Result<ImportResult>> {
    const nowMs = this.opts.clock.nowMs();
    const effectiveFromMs = parseInstant(opts.effectiveFrom, nowMs);
    if (!Number.isFinite(effectiveFromMs))
      return err(appError('RP_VALIDATION', 'effectiveFrom: not a date, date-time or epoch milliseconds'));
    const parsed = importLiteLlm(doc, { projectId: opts.projectId, effectiveFromMs, version: '0' });
    if (!parsed.ok) return parsed;
    const items: NewPriceVersion[] = parsed.value.entries.map(({ version: _v, ...entry }) => ({ entry, createdBy }));
    let updated = 0;
    for (const e of parsed.value.entries) if (this.snapshot.user.has(e.id)) updated++;
    await this.opts.repo.append(items, nowMs);
    await this.refresh(true);
    return ok({ created: items.length - updated, updated, skipped: parsed.value.skipped });
  }

  aliases(projectId?: string | null): ModelAlias[] {
    return this.snapshot.aliases.filter((a) => projectId === undefined || a.projectId === projectId);
  }

  async setAlias(alias: ModelAlias): Promise<void> {
    await this.opts.repo.setAlias(alias, this.opts.clock.nowMs());
    await this.refresh(true);
  }

  async deleteAlias(name: string, projectId: string | null): Promise<Result<{ name: string }>> {
    if (!(await this.opts.repo.deleteAlias(name, projectId, this.opts.clock.nowMs())))
      return err(
        appError('RP_NOT_FOUND', `alias ${name} does not exist${projectId ? ` in project ${projectId}` : ''}`),
      );
    await this.refresh(true);
    return ok({ name });
  }

  /** Which entry prices a call of this provider and model at `atMs` in `projectId`, and why. */
  resolve(q: { provider: string; models: string[]; atMs: number; projectId: string }): {
    match: { entry: PriceEntry; matchedModel: string } | null;
    candidates: string[];
    provider: string | null;
  } {
    const book = this.snapshot.book;
    return {
      match: book.find(q),
      candidates: book.expandNames(q.projectId, q.models),
      provider: book.catalogueProvider(q.provider)?.id ?? null,
    };
  }

  private toEntry(input: PriceEntryInput, id: string): Result<Omit<PriceEntry, 'version'>> {
    const nowMs = this.opts.clock.nowMs();
    const { version: _v, ...entry } = entryFromInput(input, { id, version: '0', nowMs, origin: 'user' });
    if (!Number.isFinite(entry.effectiveFromMs))
      return err(appError('RP_VALIDATION', 'effectiveFrom: not a date, date-time or epoch milliseconds'));
    return ok(entry);
  }
}

/** The version in force at `nowMs` (newest effective), or the earliest when none is yet. */
function inForce(versions: PriceEntry[], nowMs: number): PriceEntry {
  let best: PriceEntry | null = null;
  for (const v of versions) {
    if (v.utcWindow != null || v.effectiveFromMs > nowMs) continue;
    if (best == null || v.effectiveFromMs >= best.effectiveFromMs) best = v;
  }
  if (best != null) return best;
  return [...versions].sort((a, b) => a.effectiveFromMs - b.effectiveFromMs)[0] as PriceEntry;
}

function matches(m: PriceEntry['match'][number], lowerName: string): boolean {
  if (m.kind === 'exact') return m.value === lowerName;
  if (m.kind === 'prefix') return lowerName.startsWith(m.value);
  try {
    return new RegExp(m.pattern, 'i').test(lowerName);
  } catch {
    return false;
  }
}
