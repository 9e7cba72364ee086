import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * Every installed package must run on every Node version the project declares, so that a
 * clean `npm install` on a supported Node prints no EBADENGINE warning.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const read = (p: string) => JSON.parse(readFileSync(resolve(ROOT, p), 'utf8'));

describe('Node engines', () => {
  it('each locked dependency accepts every Node version the project declares', () => {
    const declared: string = read('package.json').engines.node;
    const lock = read('package-lock.json') as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const refusing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const wanted = !Array.isArray(pkg.engines) ? pkg.engines?.node : undefined;
      if (!path || !wanted) continue;
      if (!semver.subset(declared, wanted))
        refusing.push(`${path.replace(/^.*node_modules\//, '')}@${pkg.version} needs node ${wanted}`);
    }
    expect(refusing, `the project declares node ${declared}`).toEqual([]);
  });

  it('the Node running the tests is one the project declares', () => {
    expect(semver.satisfies(process.version, read('package.json').engines.node)).toBe(true);
  });
});
