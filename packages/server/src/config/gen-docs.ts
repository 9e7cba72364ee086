import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from './docs.js';

// Regenerates docs/configuration.md from the schema: `npx tsx packages/server/src/config/gen-docs.ts`.
const target = new URL('../../../../docs/configuration.md', import.meta.url);
writeFileSync(target, renderConfigDocs());
process.stdout.write(`wrote ${target.pathname}\n`);
