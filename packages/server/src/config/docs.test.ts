import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from './docs.js';
import { CONFIG_KEYS } from './keys.js';
import { HOT_RELOADABLE_KEYS } from './schema.js';

describe('docs/configuration.md', () => {
  it('is in sync with the schema (regenerate: npx tsx packages/server/src/config/gen-docs.ts)', () => {
    const committed = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    // Markdown formatters may re-pad table cells; compare with that whitespace folded.
    const fold = (md: string) =>
      md
        .split('\n')
        .map((l) => (l.startsWith('|') ? l.replace(/ *\| */g, '|').replace(/-{3,}/g, '---') : l))
        .join('\n');
    expect(fold(committed)).toBe(fold(renderConfigDocs()));
  });

  it('lists every key with its env name, and every hot key exists in the schema', () => {
    const doc = renderConfigDocs();
    for (const k of CONFIG_KEYS) {
      expect(doc).toMatch(new RegExp(`\\| \`${k.key.replace('.', '\\.')}\` +\\|`));
      expect(doc).toContain(`\`${k.envName}\``);
      expect(k.description.length).toBeGreaterThan(0);
    }
    const keys = new Set(CONFIG_KEYS.map((k) => k.key));
    for (const hot of HOT_RELOADABLE_KEYS) expect(keys.has(hot)).toBe(true);
  });
});
