/**
 * `reskpoints detect FILE.csv`: runs the default detector ensemble over a `timestamp,value` file
 * (header optional) and writes `timestamp,value,anomaly_score` rows to stdout, in input order.
 * The detector is causal: each row's score depends only on the rows before it.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { EnsembleDetector } from '../detect/ensemble.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';

/**
 * Epoch milliseconds of a timestamp cell: RFC 3339 / ISO 8601 (a missing zone is read as UTC,
 * a space may separate date and time), epoch milliseconds, or epoch seconds (values below 1e11).
 */
export function parseTimestampMs(text: string): number {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  let iso = t.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

function unquote(cell: string): string {
  const c = cell.trim();
  return c.length >= 2 && c.startsWith('"') && c.endsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c;
}

export async function runDetect(file: string, io: CliIo): Promise<number> {
  const path = resolve(io.cwd, file);
  try {
    readFileSync(path, { flag: 'r' }).subarray(0, 0); // a clear message when unreadable
  } catch (e) {
    println(io.stderr, `cannot read ${file}: ${(e as Error).message}`);
    return EXIT_FAILURE;
  }
  const detector = new EnsembleDetector();
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let rows = 0;
  let lastMs = Number.NEGATIVE_INFINITY;
  let out = 'timestamp,value,anomaly_score\n';
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    const comma = line.lastIndexOf(',');
    if (comma < 0) {
      println(io.stderr, `${file}:${lineNo}: expected "timestamp,value", got "${line.slice(0, 80)}"`);
      return EXIT_USAGE;
    }
    const tsText = unquote(line.slice(0, comma));
    const valueText = unquote(line.slice(comma + 1));
    const value = valueText === '' ? Number.NaN : Number(valueText);
    const ms = parseTimestampMs(tsText);
    if (rows === 0 && lineNo === 1 && (Number.isNaN(value) || Number.isNaN(ms))) continue; // a header row
    if (Number.isNaN(ms)) {
      println(io.stderr, `${file}:${lineNo}: timestamp "${tsText}" is not RFC 3339 or epoch seconds/milliseconds`);
      return EXIT_USAGE;
    }
    if (!Number.isFinite(value)) {
      println(io.stderr, `${file}:${lineNo}: value "${valueText}" is not a number`);
      return EXIT_USAGE;
    }
    if (ms < lastMs) {
      println(io.stderr, `${file}:${lineNo}: timestamps must not go backwards (${tsText})`);
      return EXIT_USAGE;
    }
    lastMs = ms;
    const score = detector.update(ms, value);
    out += `${tsText},${valueText},${Number(score.toFixed(6))}\n`;
    rows++;
    if (out.length > 1 << 16) {
      io.stdout.write(out);
      out = '';
    }
  }
  io.stdout.write(out);
  return EXIT_OK;
}
