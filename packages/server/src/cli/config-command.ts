import { CONFIG_KEYS, getAtPath } from '../config/keys.js';
import { describeSource } from '../config/loader.js';
import { renderTable } from './format.js';
import { type CliIo, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { loadForCommand, type ServerFlags } from './server.js';

const SECRET = /token|password|secret/i;

function shown(key: string, value: unknown): string {
  if (value === undefined) return '(unset)';
  if (SECRET.test(key)) return '(set, hidden)';
  // Connection URLs may carry credentials.
  if (typeof value === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(value))
    return value.replace(/\/\/([^:/@]*):[^/@]*@/, '//$1:***@');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `reskpoints config check`: validates the configuration and shows each setting with its source. */
export function runConfigCheck(flags: ServerFlags & { json?: boolean }, io: CliIo): number {
  const loaded = loadForCommand(flags, io);
  if (!loaded) return EXIT_USAGE;
  const rows = CONFIG_KEYS.map((k) => {
    const source = loaded.sources[k.key];
    return [k.key, shown(k.key, getAtPath(loaded.config, k.path)), source ? describeSource(source) : 'default'];
  });
  if (flags.json) {
    const out = Object.fromEntries(rows.map(([key, value, source]) => [key, { value, source }]));
    println(io.stdout, JSON.stringify({ file: loaded.filePath, settings: out }, null, 2));
    return EXIT_OK;
  }
  println(io.stdout, `Configuration is valid (file: ${loaded.filePath ?? 'none'})`);
  println(io.stdout);
  println(io.stdout, renderTable([{ header: 'key' }, { header: 'value' }, { header: 'from' }], rows));
  return EXIT_OK;
}
