import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnsembleDetector } from '../detect/ensemble.js';
import { scenario } from '../detect/synthetic.js';
import { parseTimestampMs } from './detect.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'rp-detect-'));
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

const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

describe('reskpoints detect', () => {
  const series = scenario('spike', {});

  it('scores every row with the default ensemble and flags the spike', async () => {
    const rows = series.values.map((v, i) => `${iso(series.timestampsMs[i]!)},${v.toFixed(4)}`);
    writeFileSync(join(cwd, 'series.csv'), `timestamp,value\r\n${rows.join('\r\n')}\r\n`);
    const t = io();
    const outcome = await runCli(['detect', 'series.csv'], t);
    expect(outcome.exitCode).toBe(0);
    const lines = t.out().trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score');
    expect(lines).toHaveLength(series.values.length + 1);
    const scores = lines.slice(1).map((l) => Number(l.split(',')[2]));
    for (const s of scores) expect(s >= 0 && s <= 1).toBe(true);
    // The same as the library gives for the same values.
    const d = new EnsembleDetector();
    const expected = series.values.map((v, i) =>
      Number(d.update(series.timestampsMs[i]!, Number(v.toFixed(4))).toFixed(6)),
    );
    expect(scores).toEqual(expected);
    const alarms = scores.flatMap((s, i) => (s >= 0.99 && i >= 400 ? [i] : []));
    expect(alarms).toEqual([series.onsetIndex]);
    expect(lines[1]!.split(',').slice(0, 2)).toEqual([iso(series.timestampsMs[0]!), series.values[0]!.toFixed(4)]);
  });

  it('reads files without a header and with epoch timestamps', async () => {
    writeFileSync(join(cwd, 'plain.csv'), '1767225600,1\n1767225660,2\n1767225720,3\n');
    const t = io();
    expect((await runCli(['detect', 'plain.csv'], t)).exitCode).toBe(0);
    expect(t.out()).toBe('timestamp,value,anomaly_score\n1767225600,1,0\n1767225660,2,0\n1767225720,3,0\n');
  });

  it('names the line of a bad row', async () => {
    writeFileSync(join(cwd, 'bad.csv'), 'timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01T00:01:00Z,abc\n');
    const t = io();
    expect((await runCli(['detect', 'bad.csv'], t)).exitCode).toBe(2);
    expect(t.err()).toContain('bad.csv:3: value "abc" is not a number');

    writeFileSync(join(cwd, 'back.csv'), '2026-01-01T00:01:00Z,1\n2026-01-01T00:00:00Z,1\n');
    const t2 = io();
    expect((await runCli(['detect', 'back.csv'], t2)).exitCode).toBe(2);
    expect(t2.err()).toContain('back.csv:2: timestamps must not go backwards');
  });

  it('reports a missing file', async () => {
    const t = io();
    expect((await runCli(['detect', 'nope.csv'], t)).exitCode).toBe(1);
    expect(t.err()).toContain('cannot read nope.csv');
  });

  it('reads RFC 3339, NAB-style and epoch timestamps', () => {
    expect(parseTimestampMs('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestampMs('2026-01-01 01:00:00')).toBe(Date.UTC(2026, 0, 1, 1));
    expect(parseTimestampMs('2026-01-01T01:00:00+01:00')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestampMs('1767225600')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestampMs('1767225600000')).toBe(Date.UTC(2026, 0, 1));
    expect(parseTimestampMs('yesterday')).toBeNaN();
  });
});
