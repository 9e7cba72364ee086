#!/usr/bin/env node
// The `reskpoints` command. This file is committed (the bundle in ../dist is not) so that npm
// links the command at install time, before the first build has produced the bundle.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'error: reskpoints is not built yet: run `npm run build` (or `npm start`) in the repository first\n',
  );
  process.exit(1);
}
await import(main.href);
