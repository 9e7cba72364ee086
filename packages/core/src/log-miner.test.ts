import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hashMaskedTokens,
  LogMiner,
  maskedKeyHash,
  maskedTokens,
  maskToken,
  patternIdOf,
  WILDCARD,
} from './log-miner.js';

describe('maskToken', () => {
  it.each([
    ['blk_38865049064139660', WILDCARD],
    ['10.251.43.210:50010', WILDCARD],
    ['0x7fffa3c0', WILDCARD],
    ['3f2504e0-4f89-11d3-9a0c-0305e82c3301', WILDCARD],
    ['https://example.com/a/b', WILDCARD],
    ['/var/log/messages', WILDCARD],
    ['alice@example.com', WILDCARD],
    ['250ms', WILDCARD],
    ['Fri', WILDCARD],
    ['rhost=218.188.2.4', `rhost=${WILDCARD}`],
    ['user=root', `user=${WILDCARD}`],
    ['ruser=', 'ruser='],
    ['terminating', 'terminating'],
    ['and/or', 'and/or'],
    ['PacketResponder', 'PacketResponder'],
  ])('%s → %s', (token, masked) => {
    expect(maskToken(token)).toBe(masked);
  });

  it('folds a unit into the number before it', () => {
    expect(maskedTokens('estimated size 12.3 KB, free 40 MB')).toEqual([
      'estimated',
      'size',
      WILDCARD,
      WILDCARD,
      'free',
      WILDCARD,
      WILDCARD,
    ]);
  });
});

describe('maskedKeyHash', () => {
  it('equals the hash of the masked tokens, for corpus-like and random lines', () => {
    const lines = [
      'PacketResponder 1 for block blk_38865049064139660 terminating',
      'authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4  user=root',
      'connection from 222.33.90.199 () at Sat Jun 25 04:12:04 2005',
      'Block broadcast_0 stored as values in memory (estimated size 384.0 B, free 317.5 KB)',
      '   leading and trailing spaces\t\r\n',
      '',
    ];
    for (const l of lines) expect(maskedKeyHash(l)).toBe(hashMaskedTokens(maskedTokens(l)));
    const alphabet = fc.constantFrom(...'ab=/:@. 0 9\tKB,x'.split(''), 'KB', 'Jun', ' ms', 'http://', 'a=1');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (parts) => {
        const l = parts.join('');
        expect(maskedKeyHash(l)).toBe(hashMaskedTokens(maskedTokens(l)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LogMiner', () => {
  it('groups lines that differ only in variables and keeps different events apart', () => {
    const m = new LogMiner();
    const a = m.add('PacketResponder 1 for block blk_123 terminating');
    const b = m.add('PacketResponder 2 for block blk_987 terminating');
    const c = m.add('Receiving block blk_55 src: /10.0.0.1:500 dest: /10.0.0.2:500');
    expect(a.isNew).toBe(true);
    expect(b.patternId).toBe(a.patternId);
    expect(b.isNew).toBe(false);
    expect(c.patternId).not.toBe(a.patternId);
    expect(b.template).toBe('PacketResponder <*> for block <*> terminating');
  });

  it('keeps a few distinct words apart, and makes the position a variable once many are seen', () => {
    const m = new LogMiner();
    const verbs = ['GET', 'POST', 'DELETE'];
    const ids = verbs.map((v) => m.add(`10.0.0.1 "${v} /v2/servers" status: 200 len: 1 time: 0.2`).patternId);
    expect(new Set(ids).size).toBe(3);
    const users = ['root', 'cyrus', 'news', 'test', 'guest', 'adm'];
    const userIds = users.map((u) => m.add(`session closed for user ${u}`).patternId);
    // The first few users start their own patterns; past the threshold they all fold into one.
    const last = m.add('session closed for user nobody');
    expect(last.template).toBe('session closed for user <*>');
    for (const id of userIds) expect(m.resolveId(id)).toBe(last.patternId);
    expect(m.patterns().filter((p) => p.template.startsWith('session closed'))).toHaveLength(1);
  });

  it('gives the same id for the same first message on every instance, and survives a snapshot', () => {
    const lines = Array.from({ length: 200 }, (_, i) => `job ${i} finished in ${i * 3} ms on worker-${i % 7}`);
    const m1 = new LogMiner();
    const m2 = new LogMiner();
    const ids1 = lines.map((l) => m1.add(l).patternId);
    const ids2 = lines.map((l) => m2.add(l).patternId);
    expect(ids1).toEqual(ids2);
    expect(ids1[0]).toBe(patternIdOf('job <*> finished in <*> <*> on <*>'));
    const restored = LogMiner.restore(JSON.parse(JSON.stringify(m1.snapshot())));
    const r = restored.add('job 999 finished in 1 ms on worker-3');
    expect(r.patternId).toBe(ids1[0]);
    expect(r.isNew).toBe(false);
    expect(restored.patterns()[0]?.count).toBe(201);
  });

  it('bounds patterns and examples', () => {
    const m = new LogMiner({ maxPatterns: 50, examplesPerPattern: 2 });
    for (let i = 0; i < 500; i++)
      m.add(`event${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + ((i / 26) | 0))} happened`);
    expect(m.size).toBeLessThanOrEqual(50);
    for (const p of m.patterns()) expect(p.examples.length).toBeLessThanOrEqual(2);
  });

  it('match() finds the pattern without changing the miner', () => {
    const m = new LogMiner();
    m.add('disk sda1 is 91% full');
    m.add('disk sdb2 is 45% full');
    const before = m.snapshot();
    expect(m.match('disk sdc3 is 12% full')?.template).toBe('disk <*> is <*> full');
    expect(m.match('something else entirely')).toBeNull();
    expect(m.snapshot()).toEqual(before);
  });
});
