import { type FileHandle, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** How a logged request body is decoded again. */
export type LoggedBodyKind =
  | 'native-json'
  | 'otlp-protobuf'
  | 'otlp-json'
  | 'langfuse-ingestion'
  | 'otlp-logs-protobuf'
  | 'otlp-logs-json'
  | 'loki-json'
  | 'loki-protobuf'
  | 'native-logs-json';
// The position is the code written to the log: append new kinds, never reorder.
const KINDS: readonly LoggedBodyKind[] = [
  'native-json',
  'otlp-protobuf',
  'otlp-json',
  'langfuse-ingestion',
  'otlp-logs-protobuf',
  'otlp-logs-json',
  'loki-json',
  'loki-protobuf',
  'native-logs-json',
];

/**
 * One accepted ingest request, as received: the decompressed body plus everything its decoding
 * depends on, so that decoding it again yields the very same events (ids included).
 */
export interface LoggedRequest {
  kind: LoggedBodyKind;
  projectId: string;
  receivedAtMs: number;
  excerptMaxChars: number;
  body: Buffer;
}

/** Where a record went; hand it back with `release` once the store holds its events. */
export interface AckLogRef {
  readonly segment: number;
}

const MAGIC = 0x52504c31; // "RPL1"
// magic u32 | payload length u32 | crc32 of payload u32 ; payload = meta | projectId | body
const HEAD = 12;
// kind u8 | reserved u8 | projectId length u16 | receivedAtMs f64 | excerptMaxChars u32
const META = 16;
const SEGMENT = /^ack-(\d{12})\.log$/;

interface Segment {
  seq: number;
  path: string;
  fh: FileHandle | null;
  bytes: number;
  live: number;
}

interface Waiting {
  parts: Buffer[];
  bytes: number;
  resolve: (ref: AckLogRef) => void;
  reject: (e: unknown) => void;
}

function encode(rec: LoggedRequest): { parts: Buffer[]; bytes: number } {
  const project = Buffer.from(rec.projectId, 'utf8');
  const meta = Buffer.allocUnsafe(META);
  meta.writeUInt8(KINDS.indexOf(rec.kind), 0);
  meta.writeUInt8(0, 1);
  meta.writeUInt16LE(project.length, 2);
  meta.writeDoubleLE(rec.receivedAtMs, 4);
  meta.writeUInt32LE(rec.excerptMaxChars, 12);
  const payload = META + project.length + rec.body.length;
  const head = Buffer.allocUnsafe(HEAD);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(payload, 4);
  head.writeUInt32LE(crc32(rec.body, crc32(project, crc32(meta))), 8);
  return { parts: [head, meta, project, rec.body], bytes: HEAD + payload };
}

/** Reads the records of one segment; stops at the first torn or corrupt record (a crash mid-write). */
export function decodeSegment(buf: Buffer): { records: LoggedRequest[]; discardedBytes: number } {
  const records: LoggedRequest[] = [];
  let at = 0;
  while (at + HEAD + META <= buf.length) {
    if (buf.readUInt32LE(at) !== MAGIC) break;
    const payload = buf.readUInt32LE(at + 4);
    const end = at + HEAD + payload;
    if (payload < META || end > buf.length) break;
    const body = buf.subarray(at + HEAD, end);
    if (crc32(body) !== buf.readUInt32LE(at + 8)) break;
    const kind = KINDS[body.readUInt8(0)];
    const projectLen = body.readUInt16LE(2);
    if (!kind || META + projectLen > payload) break;
    records.push({
      kind,
      projectId: body.toString('utf8', META, META + projectLen),
      receivedAtMs: body.readDoubleLE(4),
      excerptMaxChars: body.readUInt32LE(12),
      body: Buffer.from(body.subarray(META + projectLen)),
    });
    at = end;
  }
  return { records, discardedBytes: buf.length - at };
}

async function segmentFiles(dir: string): Promise<Array<{ seq: number; path: string }>> {
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  return names
    .map((n) => ({ m: SEGMENT.exec(n), n }))
    .filter((x) => x.m)
    .map((x) => ({ seq: Number((x.m as RegExpExecArray)[1]), path: join(dir, x.n) }))
    .sort((a, b) => a.seq - b.seq);
}

export interface AckLogOptions {
  /** A segment that grew past this is closed; it is deleted once none of its records is live. */
  segmentBytes: number;
  /** Called after each write+fdatasync with its duration. */
  onSync?: (ms: number, records: number) => void;
}

/**
 * The acknowledgement log: an append-only file of accepted request bodies, written with
 * `writev` and made durable with one `fdatasync` per group of concurrent appends. Ingest uses
 * it to acknowledge a request whose store commit is held up (a DuckDB checkpoint, say): once the
 * body is on disk it survives `kill -9`, and `recover` hands it back at the next start.
 * Records are released when the store committed their events; a segment with no live record
 * left is deleted.
 */
export class AckLog {
  private current: Segment | null = null;
  private readonly segments = new Map<number, Segment>();
  private waiting: Waiting[] = [];
  /** The running write+sync loop, if any. */
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly dropping = new Set<Promise<void>>();
  readonly counters = { records: 0, syncs: 0 };

  private constructor(
    private readonly dir: string,
    private nextSeq: number,
    private readonly opts: AckLogOptions,
  ) {}

  /**
   * Reads every record left by an earlier run, oldest first, then deletes the segments once
   * `apply` has stored them. Call before `open`.
   */
  static async recover(
    dir: string,
    apply: (records: LoggedRequest[]) => Promise<void>,
  ): Promise<{ records: number; segments: number; discardedBytes: number }> {
    const files = await segmentFiles(dir);
    let records = 0;
    let discardedBytes = 0;
    for (const f of files) {
      const seg = decodeSegment(await readFile(f.path));
      if (seg.records.length) await apply(seg.records);
      records += seg.records.length;
      discardedBytes += seg.discardedBytes;
    }
    for (const f of files) await unlink(f.path);
    return { records, segments: files.length, discardedBytes };
  }

  /**
   * Opens the log and takes over what an earlier run left in it: every record comes back with
   * its ref, and each segment stays on disk until all its records are released (committed or
   * kept elsewhere), so a crash before that replays them again. New records go to new segments.
   */
  static async openRecovering(
    dir: string,
    opts: AckLogOptions,
  ): Promise<{
    log: AckLog;
    recovered: Array<{ record: LoggedRequest; ref: AckLogRef }>;
    segments: number;
    discardedBytes: number;
  }> {
    await mkdir(dir, { recursive: true });
    const files = await segmentFiles(dir);
    const log = new AckLog(dir, (files.at(-1)?.seq ?? 0) + 1, opts);
    const recovered: Array<{ record: LoggedRequest; ref: AckLogRef }> = [];
    let discardedBytes = 0;
    for (const f of files) {
      const buf = await readFile(f.path);
      const seg = decodeSegment(buf);
      discardedBytes += seg.discardedBytes;
      // Nothing whole in it (a crash during its first write): nothing was acknowledged from it.
      if (seg.records.length === 0) {
        await unlink(f.path);
        continue;
      }
      log.segments.set(f.seq, { seq: f.seq, path: f.path, fh: null, bytes: buf.length, live: seg.records.length });
      const ref: AckLogRef = { segment: f.seq };
      for (const record of seg.records) recovered.push({ record, ref });
    }
    return { log, recovered, segments: files.length, discardedBytes };
  }

  static async open(dir: string, opts: AckLogOptions): Promise<AckLog> {
    await mkdir(dir, { recursive: true });
    const files = await segmentFiles(dir);
    if (files.length) throw new Error(`acknowledgement log ${dir} holds unrecovered segments; recover it first`);
    return new AckLog(dir, 1, opts);
  }

  /** Live records not yet released. */
  get liveRecords(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.live;
    return n;
  }

  /** Resolves once the record is on disk (after fdatasync). */
  append(rec: LoggedRequest): Promise<AckLogRef> {
    if (this.closed) return Promise.reject(new Error('acknowledgement log is closed'));
    const { parts, bytes } = encode(rec);
    return new Promise((resolve, reject) => {
      this.waiting.push({ parts, bytes, resolve, reject });
      this.startFlush();
    });
  }

  /** The store holds this record's events; its segment may go once nothing in it is live. */
  release(ref: AckLogRef): void {
    const seg = this.segments.get(ref.segment);
    if (!seg) return;
    seg.live--;
    if (seg.live > 0) return;
    if (seg === this.current) {
      // Nothing live and nothing being written: start afresh instead of replaying stale records.
      if (this.flushing) return;
      this.current = null;
    }
    const dropping = this.drop(seg).finally(() => this.dropping.delete(dropping));
    this.dropping.add(dropping);
  }

  private async drop(seg: Segment): Promise<void> {
    this.segments.delete(seg.seq);
    await seg.fh?.close().catch(() => undefined);
    seg.fh = null;
    await unlink(seg.path).catch(() => undefined);
  }

  private async segmentFor(bytes: number): Promise<Segment> {
    const cur = this.current;
    if (cur?.fh && (cur.bytes === 0 || cur.bytes + bytes <= this.opts.segmentBytes)) return cur;
    if (cur) {
      this.current = null;
      if (cur.live === 0) await this.drop(cur);
      else {
        await cur.fh?.close().catch(() => undefined);
        cur.fh = null;
      }
    }
    const seq = this.nextSeq++;
    const path = join(this.dir, `ack-${String(seq).padStart(12, '0')}.log`);
    const seg: Segment = { seq, path, fh: await open(path, 'a'), bytes: 0, live: 0 };
    this.segments.set(seq, seg);
    this.current = seg;
    return seg;
  }

  private startFlush(): void {
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      // An append may have come in after the loop's last look.
      if (this.waiting.length > 0) this.startFlush();
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      const bytes = group.reduce((n, w) => n + w.bytes, 0);
      let seg: Segment | null = null;
      const started = performance.now();
      try {
        seg = await this.segmentFor(bytes);
        const fh = seg.fh as FileHandle;
        await fh.writev(group.flatMap((w) => w.parts));
        await fh.datasync();
      } catch (e) {
        // A failed write may leave a torn record; later records go to a fresh segment.
        if (seg && seg === this.current) {
          this.current = null;
          if (seg.live === 0) await this.drop(seg);
        }
        for (const w of group) w.reject(e);
        continue;
      }
      seg.bytes += bytes;
      seg.live += group.length;
      this.counters.records += group.length;
      this.counters.syncs++;
      this.opts.onSync?.(performance.now() - started, group.length);
      const ref: AckLogRef = { segment: seg.seq };
      for (const w of group) w.resolve(ref);
    }
  }

  /**
   * Stops taking records. Segments whose records were all released are deleted; the others stay
   * for `recover` at the next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    await Promise.all(this.dropping);
    this.current = null;
    for (const seg of [...this.segments.values()]) {
      if (seg.live === 0) await this.drop(seg);
      else await seg.fh?.close().catch(() => undefined);
    }
  }
}
