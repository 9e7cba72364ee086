// Bundles the server (and the browser-safe core it imports) into packages/server/dist, and
// builds the dashboard (packages/web) into packages/web/dist, which the server serves at /.
// Third-party packages stay external and load from node_modules.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';

const pkg = JSON.parse(readFileSync(new URL('../packages/server/package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !d.startsWith('@reskpoints/'));

await build({
  entryPoints: {
    main: 'packages/server/src/main.ts',
  },
  outdir: 'packages/server/dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external,
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __rpCreateRequire } from 'node:module'; const require = __rpCreateRequire(import.meta.url);",
  },
  define: { __RESKPOINTS_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

await viteBuild({ configFile: new URL('../packages/web/vite.config.mjs', import.meta.url).pathname, logLevel: 'warn' });
