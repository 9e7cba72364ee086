import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN_JS, cleanEnv, ensureBuilt, ROOT } from '../test-support/built-cli.js';

/**
 * `npm install` links a package's bin only when the target file exists at install time, which a
 * build output never does on a fresh clone: every bin must point at a committed file.
 */
describe('the reskpoints command as npm links it', () => {
  beforeAll(() => ensureBuilt(), 60_000);

  it('every workspace bin target is a committed, executable file', () => {
    const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n'));
    const targets: string[] = [];
    for (const ws of ['packages/server', 'packages/core']) {
      const pkg = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')) as {
        bin?: Record<string, string>;
      };
      for (const target of Object.values(pkg.bin ?? {})) targets.push(join(ws, target).replace(/\\/g, '/'));
    }
    expect(targets).toContain('packages/server/bin/reskpoints.js');
    for (const t of targets) {
      expect(tracked.has(t), `${t} is committed`).toBe(true);
      expect(statSync(join(ROOT, t)).mode & 0o111, `${t} is executable`).not.toBe(0);
    }
  });

  it('runs the built CLI', () => {
    const r = spawnSync(BIN_JS, ['--version'], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.status).toBe(0);
  });
});
