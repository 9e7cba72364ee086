import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';

function walk(cmd: Command, path: string[] = []): Array<{ path: string; options: string[] }> {
  const here = { path: path.join(' '), options: cmd.options.map((o) => o.long ?? o.flags) };
  return [here, ...cmd.commands.flatMap((c) => walk(c, [...path, c.name()]))];
}

describe('docs/cli.md', () => {
  it('mentions every command and every option', () => {
    const doc = readFileSync(new URL('../../../../docs/cli.md', import.meta.url), 'utf8');
    const program = buildProgram({} as CliIo, () => {});
    for (const { path, options } of walk(program)) {
      if (path) expect(doc, `command ${path}`).toContain(`reskpoints ${path}`);
      for (const o of options) {
        // The whole option name, not a prefix of a longer one (--to vs --token).
        expect(doc, `option ${o} of ${path || 'reskpoints'}`).toMatch(new RegExp(`(?<![\\w-])${o}(?![\\w-])`));
      }
    }
  });
});
