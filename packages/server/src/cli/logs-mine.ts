/**
 * `reskpoints logs mine FILE`: mines log templates offline with the default configuration and
 * writes, per input line in order, the pattern id and template (CSV or JSON lines).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { LogMiner } from '@reskpoints/core';
import { csvField, parseCsv } from '../logs/csv.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';

export interface LogsMineOptions {
  column?: string;
  format?: string;
  /** Write each line's pattern as it is mined instead of the final patterns after the whole file. */
  stream?: boolean;
}

async function* lines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) yield line;
}

export async function runLogsMine(file: string, o: LogsMineOptions, io: CliIo): Promise<number> {
  const format = o.format ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') {
    println(io.stderr, `--format must be csv or jsonl, not "${format}"`);
    return EXIT_USAGE;
  }
  const path = resolve(io.cwd, file);
  let messages: AsyncIterable<string> | string[];
  try {
    if (o.column) {
      const rows = parseCsv(readFileSync(path, 'utf8'));
      const header = rows[0] ?? [];
      const col = header.indexOf(o.column);
      if (col < 0) {
        println(io.stderr, `${file}: no column "${o.column}" (columns: ${header.join(', ')})`);
        return EXIT_USAGE;
      }
      messages = rows.slice(1).map((r) => r[col] ?? '');
    } else {
      readFileSync(path, { flag: 'r' }).subarray(0, 0); // fail early with a clear message when unreadable
      messages = lines(path);
    }
  } catch (e) {
    println(io.stderr, `cannot read ${file}: ${(e as Error).message}`);
    return EXIT_FAILURE;
  }
  const miner = new LogMiner();
  const write = (n: number, id: string, template: string) => {
    if (format === 'csv') io.stdout.write(`${n},${id},${csvField(template)}\n`);
    else io.stdout.write(`${JSON.stringify({ line: n, patternId: id, template })}\n`);
  };
  if (format === 'csv') println(io.stdout, 'line,pattern_id,template');
  let n = 0;
  if (o.stream) {
    for await (const m of messages) {
      const r = miner.add(m);
      write(++n, r.patternId, r.template);
    }
    return EXIT_OK;
  }
  const ids: string[] = [];
  for await (const m of messages) ids.push(miner.add(m).patternId);
  const templateOf = new Map(miner.patterns().map((p) => [p.id, p.template]));
  for (const id of ids) {
    const finalId = miner.resolveId(id);
    write(++n, finalId, templateOf.get(finalId) ?? '');
  }
  return EXIT_OK;
}
