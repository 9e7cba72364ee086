import { z } from 'zod';
import { MODULES } from '../modules.js';
import { assertModuleList, moduleConfigShape, moduleHotReloadableKeys } from '../platform/module-config.js';

/**
 * The one configuration schema. Sources, in order of precedence: CLI flags > RESKPOINTS_*
 * environment variables > config file (YAML or JSON) > these defaults.
 * Settings marked hot-reloadable take effect when the config file changes.
 */
const platformConfigSchema = z.object({
  host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on'),
  port: z.number().int().min(0).max(65535).default(4318).describe('HTTP port (OTLP/HTTP default is 4318)'),
  dataDir: z.string().min(1).default('./data').describe('Where the embedded DuckDB files live'),
  role: z
    .enum(['all', 'ingest', 'worker', 'api'])
    .default('all')
    .describe('all = embedded single process; ingest/worker/api for cluster mode'),
  adminToken: z
    .string()
    .min(16)
    .optional()
    .describe('Admin bearer token; generated and printed on first start if absent'),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log verbosity'),
  ingest: z
    .object({
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .default(16 * 1024 * 1024)
        .describe('Largest accepted request body (after decompression)'),
      queueMaxEvents: z
        .number()
        .int()
        .min(1)
        .default(200_000)
        .describe('Events waiting for commit before ingest answers 429'),
      queueMaxBytes: z
        .number()
        .int()
        .min(1024 * 1024)
        .default(256 * 1024 * 1024)
        .describe('Request-body bytes held for the acknowledgement log before ingest answers 429'),
      maxBatchEvents: z.number().int().min(1).default(20_000).describe('Most events committed in one group commit'),
      flushIntervalMs: z
        .number()
        .int()
        .min(0)
        .default(2)
        .describe('How long a commit waits for more events to join it'),
      retryAfterSeconds: z.number().int().min(1).default(1).describe('Retry-After sent with 429'),
      excerptMaxChars: z.number().int().min(0).default(2000).describe('Cap on stored prompt/response excerpts'),
      ackLog: z
        .boolean()
        .default(true)
        .describe(
          'Acknowledge requests whose commit is held up (e.g. by a DuckDB checkpoint) once their body is fsynced to the acknowledgement log in dataDir/ack-log; replayed at start',
        ),
      ackLogAfterMs: z
        .number()
        .int()
        .min(0)
        .default(100)
        .describe(
          'How long a request waits for its commit before it is written to the acknowledgement log (0 = at once)',
        ),
    })
    .prefault({}),
  query: z
    .object({
      maxRangeDays: z.number().int().min(1).default(400).describe('Longest time range a query may span'),
      maxBuckets: z.number().int().min(1).default(5000).describe('Most time buckets a summary may return'),
    })
    .prefault({}),
  retentionDays: z.number().int().min(1).default(90).describe('Telemetry older than this is deleted'),
  derived: z
    .object({
      safetyLagMs: z
        .number()
        .int()
        .min(0)
        .default(10_000)
        .describe(
          'Cluster mode: derived processing (budgets, rules, detectors) reads calls stamped at least this long ago, so inserts still in flight on other workers are not skipped',
        ),
    })
    .prefault({}),
  clickhouse: z
    .object({
      url: z.string().url().optional().describe('e.g. http://127.0.0.1:8123; set to use ClickHouse for telemetry'),
      database: z.string().default('reskpoints').describe('ClickHouse database for telemetry tables'),
      username: z.string().default('default').describe('ClickHouse user'),
      password: z.string().default('').describe('ClickHouse password'),
    })
    .prefault({}),
  postgres: z
    .object({
      url: z
        .string()
        .optional()
        .describe('e.g. postgres://postgres@127.0.0.1:5432/reskpoints; set to use PostgreSQL for state'),
    })
    .prefault({}),
  nats: z
    .object({
      url: z.string().optional().describe('e.g. nats://127.0.0.1:4222; set to use JetStream as the ingest log'),
      stream: z.string().default('RESKPOINTS_INGEST').describe('JetStream stream that carries ingested events'),
      ackWaitMs: z
        .number()
        .int()
        .min(1000)
        .default(60_000)
        .describe('Time a worker may hold a batch unacked before JetStream redelivers it'),
    })
    .prefault({}),
  redis: z.object({ url: z.string().optional().describe('e.g. redis://127.0.0.1:6379; shared counters') }).prefault({}),
});

assertModuleList(MODULES, Object.keys(platformConfigSchema.shape));

/**
 * The platform's settings plus one section per module (`src/modules.ts`), each validated,
 * documented and reloaded like the rest. The static type covers the platform's settings;
 * a module reads its own section, typed, through its context.
 */
export const configSchema = platformConfigSchema.extend(
  moduleConfigShape(MODULES),
) as unknown as typeof platformConfigSchema;

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Settings that may change while running; everything else needs a restart. */
export const HOT_RELOADABLE_KEYS: readonly string[] = [
  'logLevel',
  'ingest.retryAfterSeconds',
  'ingest.excerptMaxChars',
  'retentionDays',
  ...moduleHotReloadableKeys(MODULES),
];
