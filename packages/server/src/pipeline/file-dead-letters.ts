import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, randomHex } from '@reskpoints/core';
import type { DeadLetter, DeadLetterStore, DeadLetterSummary, NewDeadLetter } from '../store/ports.js';

const FILE = /^(dl-\d{13}-[0-9a-f]{8})\.json$/;

function summaryOf(letter: DeadLetter): DeadLetterSummary {
  const { payload, ...rest } = letter;
  return { ...rest, payloadType: payload.type };
}

/**
 * The embedded dead-letter area: one JSON file per letter in `<dataDir>/dead-letters/`,
 * written to a temporary name, fsynced and renamed, so a letter is either whole or absent
 * after a crash. Ids sort by the time the letter was written. An index of the summaries is
 * kept in memory (letters are rare; payloads are read only when asked for).
 */
export class FileDeadLetterStore implements DeadLetterStore {
  private constructor(
    private readonly dir: string,
    private readonly clock: Clock,
    private readonly index: Map<string, DeadLetterSummary>,
  ) {}

  static async open(dir: string, clock: Clock): Promise<FileDeadLetterStore> {
    await mkdir(dir, { recursive: true });
    const index = new Map<string, DeadLetterSummary>();
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const m = FILE.exec(name);
      if (!m) {
        // A write that crashed before its rename: never acknowledged as a dead letter.
        if (name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
        continue;
      }
      const letter = JSON.parse(await readFile(join(dir, name), 'utf8')) as DeadLetter;
      index.set(m[1] as string, summaryOf(letter));
    }
    return new FileDeadLetterStore(dir, clock, index);
  }

  async add(input: NewDeadLetter): Promise<DeadLetter> {
    const atMs = this.clock.nowMs();
    const letter: DeadLetter = {
      id: `dl-${String(Math.trunc(atMs)).padStart(13, '0')}-${randomHex(4)}`,
      atMs,
      ...input,
    };
    const path = join(this.dir, `${letter.id}.json`);
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(letter));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await this.syncDir();
    this.index.set(letter.id, summaryOf(letter));
    return letter;
  }

  private async syncDir(): Promise<void> {
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async list(opts: { limit: number; afterId?: string }): Promise<DeadLetterSummary[]> {
    const ids = [...this.index.keys()].sort();
    const from = opts.afterId === undefined ? 0 : ids.findIndex((id) => id > (opts.afterId as string));
    if (from < 0) return [];
    return ids.slice(from, from + opts.limit).map((id) => this.index.get(id) as DeadLetterSummary);
  }

  async get(id: string): Promise<DeadLetter | null> {
    if (!this.index.has(id)) return null;
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as DeadLetter;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async remove(id: string): Promise<boolean> {
    if (!this.index.delete(id)) return false;
    await unlink(join(this.dir, `${id}.json`)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await this.syncDir();
    return true;
  }

  async held(): Promise<{ letters: number; events: number }> {
    let events = 0;
    for (const s of this.index.values()) events += s.events;
    return { letters: this.index.size, events };
  }

  async close(): Promise<void> {}
}
