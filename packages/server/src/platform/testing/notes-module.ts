/**
 * A small module used by the platform's tests: it has a config section, a state table, routes,
 * a leader job and a derived processor, so the tests exercise every seam a real module uses.
 */
import { appError } from '@reskpoints/core';
import { z } from 'zod';
import { fencedTransaction } from '../fencing.js';
import { defineModule } from '../module.js';

export const notesConfig = z.object({
  greeting: z.string().default('hello').describe('What GET /api/v1/notes/greeting answers'),
  ticks: z.boolean().default(true).describe('Whether the tick job records its runs'),
});

export const notesModule = defineModule({
  name: 'notes',
  config: { schema: notesConfig, hotReloadable: ['greeting'] },
  stateMigrations: [
    {
      version: 1,
      name: 'per-project call counts',
      steps: [
        `CREATE TABLE notes_counts (
          project_id TEXT NOT NULL PRIMARY KEY,
          calls BIGINT NOT NULL,
          tokens BIGINT NOT NULL
        )`,
      ],
    },
    {
      version: 2,
      name: 'job runs',
      steps: ['CREATE TABLE notes_ticks (at_ms BIGINT NOT NULL, token BIGINT NOT NULL)'],
    },
  ],
  create(ctx) {
    const greetings: string[] = [];
    ctx.onConfigChange((next, previous) => greetings.push(`${previous.greeting}→${next.greeting}`));
    return {
      routes(api, helpers) {
        api.get('/api/v1/notes/greeting', async (req) => {
          await helpers.authenticate(req, 'admin');
          return { greeting: ctx.config().greeting, changes: greetings };
        });
        api.get('/api/v1/notes/counts', async (req) => {
          await helpers.authenticate(req, 'admin');
          const rows = await ctx.state.query<{ project_id: string; calls: number; tokens: number }>(
            'SELECT project_id, calls, tokens FROM notes_counts ORDER BY project_id',
          );
          const ticks = await ctx.state.query<{ token: number }>('SELECT token FROM notes_ticks ORDER BY at_ms');
          return { counts: rows, ticks: ticks.map((t) => t.token) };
        });
        api.get('/api/v1/notes/fail', async (req) => {
          await helpers.authenticate(req, 'any');
          helpers.fail(appError('RP_NOT_FOUND', 'no such note'));
        });
      },
      enrichers: [
        {
          // Deterministic given the request: a replay from the acknowledgement log stores the same.
          name: 'notes-stamp',
          order: 300,
          enrich(batch, { receivedAtMs }) {
            for (const c of batch.llmCalls) c.metadata['notes.received_at_ms'] = String(receivedAtMs);
          },
        },
      ],
      jobs: [
        {
          name: 'tick',
          scope: 'leader',
          everyMs: 60_000,
          async run({ nowMs, fence }) {
            if (!ctx.config().ticks || !fence) return;
            await fencedTransaction(ctx.state, fence, nowMs, (tx) =>
              tx.exec('INSERT INTO notes_ticks (at_ms, token) VALUES ($1, $2)', [nowMs, fence.token]),
            );
          },
        },
      ],
      derivedProcessors: [
        {
          name: 'count-calls',
          startFrom: 'beginning',
          batchSize: 2,
          async process(calls, tx) {
            for (const c of calls) {
              await tx.exec(
                `INSERT INTO notes_counts (project_id, calls, tokens) VALUES ($1, 1, $2)
                 ON CONFLICT (project_id) DO UPDATE SET calls = notes_counts.calls + 1,
                   tokens = notes_counts.tokens + excluded.tokens`,
                [c.projectId, c.usage.totalTokens],
              );
            }
          },
        },
      ],
    };
  },
});
