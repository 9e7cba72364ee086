import { z } from 'zod';

/** Largest price per million tokens accepted (USD); guards against per-token prices typed as per-million. */
const perMtok = z.number().nonnegative().max(100_000);
const optionalPerMtok = perMtok.nullable().optional();

export const priceRatesSchema = z
  .object({
    inputPerMtokUsd: perMtok.describe('USD per million input tokens (not cached)'),
    outputPerMtokUsd: perMtok.describe('USD per million output tokens (reasoning included unless priced apart)'),
    cacheReadPerMtokUsd: optionalPerMtok.describe('USD per million cache-read tokens; absent = input price'),
    cacheWritePerMtokUsd: optionalPerMtok.describe(
      'USD per million cache-write tokens (5-minute); absent = input price',
    ),
    cacheWrite1hPerMtokUsd: optionalPerMtok.describe(
      'USD per million 1-hour cache-write tokens; absent = 5-minute price',
    ),
    reasoningPerMtokUsd: optionalPerMtok.describe('USD per million reasoning tokens; absent = output price'),
    requestUsd: z.number().nonnegative().max(1000).optional().describe('USD per request'),
  })
  .describe('Prices: USD per million tokens, and per request');

export type PriceRatesInput = z.infer<typeof priceRatesSchema>;

/** Validates a regular expression source; JavaScript syntax, matched case-insensitively. */
const regexSource = z
  .string()
  .min(1)
  .max(500)
  .refine(
    (s) => {
      try {
        new RegExp(s, 'i');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  );

export const modelMatchSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('exact'), value: z.string().min(1).max(256) }),
    z.object({ kind: z.literal('prefix'), value: z.string().min(1).max(256) }),
    z.object({ kind: z.literal('regex'), pattern: regexSource }),
  ])
  .describe('How the entry matches model names (case-insensitive): exact name, prefix or regular expression');

const contextTierSchema = z.object({
  aboveInputTokens: z.number().int().positive().max(1e9).describe('Tier applies when input tokens exceed this'),
  rates: priceRatesSchema,
});

const timestamp = z.union([
  z.number().nonnegative().max(1e14).describe('epoch milliseconds'),
  z.iso.datetime({ offset: true }).describe('RFC 3339 date-time'),
  z.iso.date().describe('a date (midnight UTC)'),
]);

const entryId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/, 'letters, digits and . _ : / @ + - only');

/** Body of `POST /api/v1/prices` and `PUT /api/v1/prices/{id}` (a new version). */
export const priceEntryInputSchema = z
  .object({
    id: entryId.optional().describe('Stable id; generated from provider and model when absent (create only)'),
    provider: z.string().min(1).max(128).default('*').describe('Provider id (openai, anthropic, aws, azure, …) or *'),
    model: z.string().min(1).max(256).optional().describe('Shorthand for match: [{kind:"exact", value: model}]'),
    match: z.array(modelMatchSchema).min(1).max(50).optional(),
    projectId: z
      .string()
      .min(1)
      .max(128)
      .nullable()
      .optional()
      .describe('Project this override applies to; null = all'),
    effectiveFrom: timestamp.optional().describe('Calls that started at or after this are priced with it; default now'),
    rates: priceRatesSchema,
    contextTiers: z.array(contextTierSchema).max(10).optional(),
    serviceTiers: z
      .record(
        z.string().min(1).max(32),
        z.object({ rates: priceRatesSchema, contextTiers: z.array(contextTierSchema).max(10).optional() }),
      )
      .optional()
      .describe('Prices by service tier (batch, flex, priority)'),
    description: z.string().max(500).optional(),
  })
  .refine((v) => v.model != null || v.match != null, { message: 'give model or match', path: ['match'] });

export type PriceEntryInput = z.infer<typeof priceEntryInputSchema>;

/** Body of `PUT /api/v1/prices/aliases/{name}`: the model a deployment or alias name serves. */
export const modelAliasInputSchema = z.object({
  model: z.string().min(1).max(256).describe('Model the name stands for, e.g. gpt-4o-2024-11-20'),
  projectId: z.string().min(1).max(128).nullable().optional().describe('Project the alias applies to; null = all'),
});
