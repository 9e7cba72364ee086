import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { HTTP_STATUS } from './errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../../../docs/errors.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| `(RP_[A-Z_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1] as string, Number(m[2])]),
  );

  it('documents every code with the status the API sends, and nothing else', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, status] of rows) expect(HTTP_STATUS[code as keyof typeof HTTP_STATUS], code).toBe(status);
  });

  it('maps client mistakes to 4xx and only server faults to 5xx', () => {
    for (const code of [
      'RP_INVALID_BODY',
      'RP_VALIDATION',
      'RP_UNSUPPORTED_MEDIA_TYPE',
      'RP_PAYLOAD_TOO_LARGE',
      'RP_UNAUTHORIZED',
    ] as const)
      expect(HTTP_STATUS[code]).toBeLessThan(500);
  });
});
