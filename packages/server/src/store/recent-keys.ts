/**
 * The keys of the events a store committed recently, so that its duplicate check asks the
 * database only about events that may be stored already.
 *
 * It answers for one contiguous range of event time, [coverFromMs, ∞): every stored event in
 * that range was committed through `add` since the store opened. It starts just after the
 * newest event stored when the store opened (or at -∞ for an empty table), so live traffic
 * is covered at once; events older than that, and the few keys whose hash matches, go to the
 * database as before. When the keys outgrow `maxBytes`, the oldest time buckets are dropped
 * and the range starts later, so memory stays bounded and the answers stay right.
 *
 * Keys are kept as 52-bit hashes in open-addressing tables of doubles (8 bytes per slot, at
 * most half full), one table per `bucketMs` of event time.
 */
const EMPTY_SLOTS = 16;
/** Accounted per bucket besides its slots: the table object and its map entry. */
const BUCKET_OVERHEAD_BYTES = 160;

class HashTable {
  slots = new Float64Array(EMPTY_SLOTS);
  size = 0;

  has(h: number, start: number): boolean {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let p = start & mask; ; p = (p + 1) & mask) {
      const v = slots[p]!;
      if (v === h) return true;
      if (v === 0) return false;
    }
  }

  /** Adds `h`; returns the bytes the table grew by. */
  add(h: number, start: number): number {
    let grown = 0;
    if ((this.size + 1) * 2 > this.slots.length) {
      const old = this.slots;
      this.slots = new Float64Array(old.length * 2);
      grown = old.length * 8;
      for (let i = 0; i < old.length; i++) {
        const v = old[i]!;
        if (v !== 0) this.insert(v, firstSlot(v));
      }
    }
    if (this.insert(h, start)) this.size++;
    return grown;
  }

  private insert(h: number, start: number): boolean {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let p = start & mask; ; p = (p + 1) & mask) {
      const v = slots[p]!;
      if (v === h) return false;
      if (v === 0) {
        slots[p] = h;
        return true;
      }
    }
  }
}

// Two independent 32-bit hashes, computed in one pass: FNV-1a, and a murmur-style
// multiply-xorshift. Module state instead of a returned pair, so nothing is allocated.
let h1 = 0;
let h2 = 0;

function feed(s: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // A separator after each part, so ('ab', 'c') and ('a', 'bc') differ.
  h1 = Math.imul(a, 0x01000193);
  h2 = Math.imul(b ^ 0xff, 0x5bd1e995);
}

/**
 * The 52-bit hash of a key made of two or three parts, never 0 (the empty slot). The bits
 * come from two independent hashes, so two keys collide with odds of about 2^-52.
 */
export function keyHash(a: string, b: string, c?: string): number {
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;
  feed(a);
  feed(b);
  if (c !== undefined) feed(c);
  let m = h2 ^ (h2 >>> 13);
  m = Math.imul(m, 0xc2b2ae35);
  m ^= m >>> 16;
  const h = (h1 >>> 0) * 1048576 + ((m >>> 0) >>> 12);
  return h === 0 ? 1 : h;
}

/** Where a hash's probe starts: its high 32 bits (the FNV part), masked by the table. */
const firstSlot = (h: number): number => (h / 1048576) | 0;

export interface RecentKeysOptions {
  /** Memory for the keys, in bytes; the oldest buckets go when it is exceeded. Default 64 MB. */
  maxBytes?: number;
  /** Event-time width of one bucket; default 10 s. */
  bucketMs?: number;
}

export class RecentKeys {
  private readonly buckets = new Map<number, HashTable>();
  /** The bucket used last: consecutive events mostly share one. */
  private lastBucket = Number.NaN;
  private lastTable: HashTable | undefined;
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly bucketMs: number;

  /** `coverFromMs`: no event at or after this time is stored yet (the newest stored + 1, or -∞). */
  constructor(
    private coverFromMs: number,
    options: RecentKeysOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.bucketMs = options.bucketMs ?? 10_000;
  }

  /** Start of the event-time range this answers for. */
  get coveredFromMs(): number {
    return this.coverFromMs;
  }

  get memoryBytes(): number {
    return this.bytes;
  }

  /** False only when the event with this key and time is certainly not stored. */
  mayBeStored(hash: number, timeMs: number): boolean {
    if (!(timeMs >= this.coverFromMs)) return true;
    return this.table(Math.floor(timeMs / this.bucketMs))?.has(hash, firstSlot(hash)) ?? false;
  }

  /** Records a committed event. Events before the covered range need no record. */
  add(hash: number, timeMs: number): void {
    if (!(timeMs >= this.coverFromMs)) return;
    const b = Math.floor(timeMs / this.bucketMs);
    let table = this.table(b);
    if (!table) {
      table = new HashTable();
      this.buckets.set(b, table);
      this.lastBucket = b;
      this.lastTable = table;
      this.bytes += EMPTY_SLOTS * 8 + BUCKET_OVERHEAD_BYTES;
    }
    this.bytes += table.add(hash, firstSlot(hash));
    if (this.bytes > this.maxBytes) this.evict();
  }

  private table(b: number): HashTable | undefined {
    if (b !== this.lastBucket) {
      this.lastBucket = b;
      this.lastTable = this.buckets.get(b);
    }
    return this.lastTable;
  }

  /** Drops the oldest buckets until a quarter of the budget is free; the range starts after them. */
  private evict(): void {
    const order = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const b of order) {
      if (this.bytes <= this.maxBytes * 0.75) break;
      const table = this.buckets.get(b)!;
      this.bytes -= table.slots.length * 8 + BUCKET_OVERHEAD_BYTES;
      this.buckets.delete(b);
      this.coverFromMs = (b + 1) * this.bucketMs;
    }
    this.lastBucket = Number.NaN;
    this.lastTable = undefined;
  }
}
