import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCsv } from '../logs/csv.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'rp-mine-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

function io(): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    stdout: { write: (s) => void out.push(s) },
    stderr: { write: (s) => void err.push(s) },
    env: {},
    cwd,
    clock: new FakeClock(0),
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: () => {},
  };
}

const LOG = [
  'PacketResponder 1 for block blk_111 terminating',
  'Receiving block blk_222 src: /10.0.0.1:50010 dest: /10.0.0.2:50010',
  'PacketResponder 2 for block blk_333 terminating',
  'Verification succeeded for blk_444',
  '',
].join('\r\n');

describe('reskpoints logs mine', () => {
  it('prints, per input line in order, the final pattern id and template as CSV', async () => {
    writeFileSync(join(cwd, 'app.log'), LOG);
    const t = io();
    expect((await runCli(['logs', 'mine', 'app.log'], t)).exitCode).toBe(0);
    const rows = parseCsv(t.out());
    expect(rows[0]).toEqual(['line', 'pattern_id', 'template']);
    expect(rows.slice(1).map((r) => r[2])).toEqual([
      'PacketResponder <*> for block <*> terminating',
      'Receiving block <*> src: <*> dest: <*>',
      'PacketResponder <*> for block <*> terminating',
      'Verification succeeded for <*>',
    ]);
    expect(rows[1]?.[1]).toBe(rows[3]?.[1]);
    expect(rows[1]?.[1]).not.toBe(rows[2]?.[1]);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['1', '2', '3', '4']);
  });

  it('reads a CSV column and writes JSON lines', async () => {
    writeFileSync(join(cwd, 'logs.csv'), 'LineId,Content\n1,"user u17 logged in, ok"\n2,"user u42 logged in, ok"\n');
    const t = io();
    expect((await runCli(['logs', 'mine', 'logs.csv', '--column', 'Content', '--format', 'jsonl'], t)).exitCode).toBe(
      0,
    );
    const lines = t
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].line).toBe(1);
    expect(lines[0].patternId).toBe(lines[1].patternId);
    expect(lines[1].template).toBe('user <*> logged in, ok');
  });

  it('explains a missing column, a bad format and an unreadable file', async () => {
    writeFileSync(join(cwd, 'logs.csv'), 'a,b\n1,2\n');
    let t = io();
    expect((await runCli(['logs', 'mine', 'logs.csv', '--column', 'Content'], t)).exitCode).toBe(2);
    expect(t.err()).toContain('no column "Content" (columns: a, b)');
    t = io();
    expect((await runCli(['logs', 'mine', 'logs.csv', '--format', 'xml'], t)).exitCode).toBe(2);
    expect(t.err()).toContain('--format must be csv or jsonl');
    t = io();
    expect((await runCli(['logs', 'mine', 'nope.log'], t)).exitCode).toBe(1);
    expect(t.err()).toContain('cannot read nope.log');
  });
});
