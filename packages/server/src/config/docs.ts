import { CONFIG_KEYS, type ConfigKeyInfo } from './keys.js';

/**
 * Renders docs/configuration.md from the schema, so the reference cannot fall behind it.
 * Regenerate with `npx tsx packages/server/src/config/gen-docs.ts`; a test fails when the
 * committed file differs.
 */

function typeText(k: ConfigKeyInfo): string {
  if (k.kind === 'enum') return k.enumValues.map((v) => `\`${v}\``).join(' \\| ');
  const range =
    k.minValue !== null && k.maxValue !== null && Number.isFinite(k.maxValue) && k.maxValue < Number.MAX_SAFE_INTEGER
      ? ` ${k.minValue}–${k.maxValue}`
      : k.minValue !== null && Number.isFinite(k.minValue) && k.minValue > Number.MIN_SAFE_INTEGER
        ? ` ≥ ${k.minValue}`
        : '';
  return `${k.kind}${range}`;
}

function defaultText(k: ConfigKeyInfo): string {
  if (k.defaultValue === undefined) return '(unset)';
  if (k.defaultValue === '') return '`""`';
  return `\`${typeof k.defaultValue === 'object' ? JSON.stringify(k.defaultValue) : String(k.defaultValue)}\``;
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|');

/** A Markdown table with padded columns, as Markdown formatters lay it out. */
function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderConfigDocs(): string {
  const table = markdownTable(
    ['Key', 'Type', 'Default', 'Environment variable', 'Hot', 'Description'],
    CONFIG_KEYS.map((k) => [
      `\`${k.key}\``,
      typeText(k),
      defaultText(k),
      `\`${k.envName}\``,
      k.hotReloadable ? 'yes' : 'no',
      escapeCell(k.description),
    ]),
  );
  const hot = CONFIG_KEYS.filter((k) => k.hotReloadable).map((k) => `\`${k.key}\``);
  return `<!-- Generated from packages/server/src/config/schema.ts by packages/server/src/config/gen-docs.ts; do not edit by hand. -->
# Configuration

ReskPoints runs with no configuration at all: \`reskpoints start\` listens on
\`127.0.0.1:4318\` and keeps its data in \`./data\`. Every setting below can be given in four
places; the first one that sets a key wins:

1. **Command-line flags** — \`--port\`, \`--host\`, \`--data-dir\`, \`--role\`, \`--log-level\`
   (see [cli.md](cli.md)).
2. **Environment variables** — \`RESKPOINTS_\` followed by the key in SCREAMING_SNAKE_CASE;
   a double underscore separates nesting levels: \`ingest.queueMaxEvents\` is
   \`RESKPOINTS_INGEST__QUEUE_MAX_EVENTS\`, \`clickhouse.url\` is \`RESKPOINTS_CLICKHOUSE__URL\`.
   Values are converted to the key's type (\`"8080"\` becomes the number 8080). An empty
   variable counts as unset. A \`RESKPOINTS_*\` variable that names no setting is ignored with
   a warning that suggests the closest name.
3. **A config file** — YAML (\`.yaml\`, \`.yml\`) or JSON (\`.json\`), chosen by extension, named
   by \`--config FILE\` or \`RESKPOINTS_CONFIG\`; without either, \`reskpoints.yaml\`,
   \`reskpoints.yml\` or \`reskpoints.json\` in the working directory is used if present. A
   named file that is missing or unreadable is an error.
4. **Defaults** from the schema, listed below.

\`RESKPOINTS_URL\` and \`RESKPOINTS_TOKEN\` are read by the client commands
(\`reskpoints query\`, \`reskpoints keys\`), not by the server. \`RESKPOINTS_INGEST_KEY\` is
only set by \`reskpoints keys create-project --env\`, for your own scripts.

## Example file

\`\`\`yaml
host: 0.0.0.0
port: 4318
dataDir: /var/lib/reskpoints
logLevel: info
retentionDays: 30
ingest:
  queueMaxEvents: 100000
  retryAfterSeconds: 2
\`\`\`

## Validation

The configuration is checked against one schema before anything starts. Every problem is
reported at once, each with its key and the place the value came from, and
\`reskpoints start\` exits with status 2:

\`\`\`text
invalid configuration (3 problems):
  - port: expected number ≤ 65535, got 70000 (from RESKPOINTS_PORT)
  - ingest.queueMaxEvent: unknown key (did you mean ingest.queueMaxEvents?) (from reskpoints.yaml)
  - role: expected one of all|ingest|worker|api, got "leader" (from --role)
\`\`\`

Unknown keys in a file are errors, so a misspelt setting never passes silently. Values of
keys whose name contains \`token\`, \`password\` or \`secret\` are never printed.

## Hot reload

While \`reskpoints start\` runs, it watches the config file it was started with. When the file
changes it is read and validated again:

- hot-reloadable settings (${hot.join(', ')}) take effect at once;
- changes to any other setting are logged as needing a restart and are not applied;
- an invalid file is rejected with every problem logged, and the running configuration stays
  as it was.

Flags and environment variables keep their precedence on reload: a key set by
\`RESKPOINTS_LOG_LEVEL\` does not change when the file's \`logLevel\` does.

## Settings

${table}
`;
}
