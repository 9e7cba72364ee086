import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LISTENING_PREFIX } from './cli/server.js';
import { BIN_JS, cleanEnv, ensureBuilt, ROOT } from './test-support/built-cli.js';

/**
 * The README's quick start and the command examples of docs/cli.md, pasted as written into a
 * shell next to a started server (only `npx reskpoints` becomes the built command, as npm would
 * link it): each must succeed and print something.
 */

const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** The fenced ```sh blocks of a markdown text. */
function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const end = markdown.indexOf('\n## ', start + heading.length + 2);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** `$ reskpoints …` lines in the text blocks of docs/cli.md. */
function promptedCommands(markdown: string): string[] {
  return [...markdown.matchAll(/^\$ (reskpoints .*)$/gm)].map((m) => m[1] as string);
}

const asLinked = (script: string) =>
  script
    .replace(/\bnpx reskpoints\b/g, `node ${BIN_JS}`)
    .replace(/^reskpoints /gm, `node ${BIN_JS} `)
    .replace(/\$\(reskpoints /g, `$(node ${BIN_JS} `);

/** Files a text shows as fenced ```yaml blocks whose first line is `# NAME`: name and content. */
function shownFiles(markdown: string): [string, string][] {
  return [...markdown.matchAll(/^```yaml\n# ([\w.-]+)\n([\s\S]*?)^```$/gm)].map((m) => [
    m[1] as string,
    m[2] as string,
  ]);
}

let dir: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'rp-docs-'));
  server = spawn(process.execPath, [BIN_JS, 'start', '--port', '0', '--data-dir', join(dir, 'x')], {
    cwd: dir,
    env: cleanEnv({ RESKPOINTS_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  server.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  server.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes(LISTENING_PREFIX)) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}, 60_000);

afterAll(() => {
  server?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('documented commands', () => {
  it('the README quick start works when pasted, block after block, in one shell', () => {
    const blocks = shBlocks(section(read('README.md'), '## Quick start')).filter(
      // Installing, starting (done above) and the test suite are not pasted into the same shell.
      (b) => !/^npm (install|test|start)\b/m.test(b),
    );
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const script = [
      'set -eo pipefail',
      ...blocks.map((b, i) => `echo "::block ${i}::"\n${asLinked(b)}\necho\necho "::done ${i}::"`),
    ].join('\n');
    const env = cleanEnv();
    for (const k of Object.keys(env)) if (k.startsWith('OTEL_')) delete env[k];
    const r = spawnSync('bash', ['-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    blocks.forEach((block, i) => {
      const output = r.stdout.split(`::block ${i}::`)[1]?.split(`::done ${i}::`)[0];
      expect(output, `block ${i} finished:\n${block}`).toBeDefined();
      expect(output?.trim(), `block ${i} printed something:\n${block}`).not.toBe('');
      expect(output, `block ${i} reported no error:\n${block}`).not.toMatch(/"error"|^error:/m);
    });
    // The call the quick start sent is in what it reads back.
    expect(r.stdout).toContain('{"accepted":1,"duplicates":0}');
    expect(r.stdout).toMatch(/gpt-4o\s+1\s/);
    expect(r.stdout).toContain('"model":"gpt-4o"');
  }, 120_000);

  it('the commands shown in docs/cli.md work as written', () => {
    const cli = read('docs/cli.md');
    const commands = promptedCommands(cli);
    expect(commands.length).toBeGreaterThan(0);
    for (const [name, content] of shownFiles(cli)) writeFileSync(join(dir, name), content);
    for (const c of commands) {
      const r = spawnSync('bash', ['-c', asLinked(c)], {
        cwd: dir,
        env: cleanEnv(),
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect({ command: c, status: r.status, stderr: r.stderr }).toEqual({ command: c, status: 0, stderr: '' });
      expect(r.stdout.trim(), c).not.toBe('');
    }
  }, 120_000);
});
