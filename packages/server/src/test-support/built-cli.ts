/** The built `reskpoints` command, for tests that run it as a user would. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../../..');
export const MAIN_JS = join(ROOT, 'packages/server/dist/main.js');
/** The committed file npm links as the `reskpoints` command. */
export const BIN_JS = join(ROOT, 'packages/server/bin/reskpoints.js');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** `npm test` builds first; when a suite runs on its own after an edit, rebuild so the binary is current. */
export function ensureBuilt(): void {
  const sources = Math.max(
    newestMtimeMs(join(ROOT, 'packages/server/src')),
    newestMtimeMs(join(ROOT, 'packages/core/src')),
  );
  if (!existsSync(MAIN_JS) || statSync(MAIN_JS).mtimeMs < sources) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
  }
}

/** The environment without the RESKPOINTS_* settings of whoever runs the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RESKPOINTS_')) env[k] = v;
  return { ...env, ...extra };
}
