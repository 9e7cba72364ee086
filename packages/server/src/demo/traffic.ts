import type { nativeLlmCallSchema } from '@reskpoints/core';
import type { z } from 'zod';
import type { Rng } from './rng.js';

/**
 * Pure builders for the demo traffic: three applications calling several providers, with
 * realistic token counts, latencies, errors, client retries and a recurring cost spike.
 * Nothing here does I/O; `generator.ts` sends what these build.
 */

export const DEMO_PROJECT_NAMES = ['support-bot', 'code-assistant', 'search-rag'] as const;
export type DemoProjectName = (typeof DEMO_PROJECT_NAMES)[number];

export type DemoChannel = 'native' | 'otlp';

/** Token counts with OTel semantics: `inputTokens` includes cache reads/writes, `outputTokens` includes reasoning. */
export interface DemoUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

export interface DemoCall {
  project: DemoProjectName;
  /** How the call reaches the server: the native batch API or OTLP/HTTP JSON. */
  channel: DemoChannel;
  id: string;
  traceId: string;
  spanId: string;
  /** The application's request span that the LLM call runs under. */
  parentSpanId: string;
  /** Route of the application request, e.g. `POST /api/tickets/triage`. */
  route: string;
  serviceName: string;
  startTimeMs: number;
  latencyMs: number;
  ttftMs: number | null;
  provider: string;
  requestModel: string;
  /** Model that answered (dated snapshot, as providers report it). */
  model: string;
  operation: 'chat' | 'embeddings';
  environment: 'production' | 'staging';
  status: 'ok' | 'error';
  errorType: string | null;
  errorMessage: string | null;
  usage: DemoUsage | null;
  userId: string;
  sessionId: string;
  feature: string;
  tags: string[];
  metadata: Record<string, string>;
  prompt: string | null;
  response: string | null;
  /** 1 for a first attempt; 2+ for a client retry of a failed call. */
  attempt: number;
  /** Part of a cost-spike episode. */
  spike: boolean;
}

interface ModelProfile {
  provider: string;
  requestModel: string;
  responseModel: string;
  operation: 'chat' | 'embeddings';
  /** Log-normal medians and log-space spreads. */
  input: [number, number];
  output: [number, number];
  reasoning?: [number, number];
  /** Share of calls that read from the prompt cache, and the share of input they read. */
  cacheRead?: { probability: number; share: [number, number] };
  cacheWrite?: { probability: number; share: [number, number] };
  tokensPerSecond: number;
  ttftMedianMs: number;
  rateLimitType: string;
  rateLimitMessage: string;
  serverErrorType: string;
}

const OPENAI_RATE_LIMIT = 'rate_limit_exceeded';
const MODELS: Record<string, ModelProfile> = {
  'gpt-4o': {
    provider: 'openai',
    requestModel: 'gpt-4o',
    responseModel: 'gpt-4o-2024-08-06',
    operation: 'chat',
    input: [2400, 0.7],
    output: [380, 0.6],
    cacheRead: { probability: 0.3, share: [0.3, 0.7] },
    tokensPerSecond: 55,
    ttftMedianMs: 480,
    rateLimitType: OPENAI_RATE_LIMIT,
    rateLimitMessage: 'Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29214, Requested 2310.',
    serverErrorType: 'server_error',
  },
  'gpt-4o-mini': {
    provider: 'openai',
    requestModel: 'gpt-4o-mini',
    responseModel: 'gpt-4o-mini-2024-07-18',
    operation: 'chat',
    input: [1200, 0.7],
    output: [240, 0.6],
    cacheRead: { probability: 0.25, share: [0.3, 0.7] },
    tokensPerSecond: 85,
    ttftMedianMs: 340,
    rateLimitType: OPENAI_RATE_LIMIT,
    rateLimitMessage: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500, Used 500, Requested 1.',
    serverErrorType: 'server_error',
  },
  'o3-mini': {
    provider: 'openai',
    requestModel: 'o3-mini',
    responseModel: 'o3-mini-2025-01-31',
    operation: 'chat',
    input: [3000, 0.6],
    output: [550, 0.6],
    reasoning: [1400, 0.8],
    tokensPerSecond: 120,
    ttftMedianMs: 1800,
    rateLimitType: OPENAI_RATE_LIMIT,
    rateLimitMessage:
      'Rate limit reached for o3-mini on tokens per min (TPM): Limit 200000, Used 198766, Requested 4120.',
    serverErrorType: 'server_error',
  },
  'claude-sonnet-4': {
    provider: 'anthropic',
    requestModel: 'claude-sonnet-4-0',
    responseModel: 'claude-sonnet-4-20250514',
    operation: 'chat',
    input: [8000, 0.8],
    output: [650, 0.7],
    cacheRead: { probability: 0.7, share: [0.5, 0.92] },
    cacheWrite: { probability: 0.15, share: [0.2, 0.5] },
    tokensPerSecond: 55,
    ttftMedianMs: 900,
    rateLimitType: 'rate_limit_error',
    rateLimitMessage:
      'This request would exceed the rate limit for your organization of 80,000 input tokens per minute.',
    serverErrorType: 'overloaded_error',
  },
  'claude-3-5-haiku': {
    provider: 'anthropic',
    requestModel: 'claude-3-5-haiku-latest',
    responseModel: 'claude-3-5-haiku-20241022',
    operation: 'chat',
    input: [1800, 0.7],
    output: [280, 0.6],
    cacheRead: { probability: 0.4, share: [0.4, 0.85] },
    cacheWrite: { probability: 0.1, share: [0.2, 0.5] },
    tokensPerSecond: 95,
    ttftMedianMs: 420,
    rateLimitType: 'rate_limit_error',
    rateLimitMessage: 'This request would exceed the rate limit for your organization of 50 requests per minute.',
    serverErrorType: 'overloaded_error',
  },
  'gemini-2.0-flash': {
    provider: 'gcp.gemini',
    requestModel: 'gemini-2.0-flash',
    responseModel: 'gemini-2.0-flash',
    operation: 'chat',
    input: [4200, 0.8],
    output: [320, 0.6],
    tokensPerSecond: 170,
    ttftMedianMs: 300,
    rateLimitType: 'RESOURCE_EXHAUSTED',
    rateLimitMessage: 'Resource has been exhausted (e.g. check quota).',
    serverErrorType: 'INTERNAL',
  },
  'text-embedding-3-small': {
    provider: 'openai',
    requestModel: 'text-embedding-3-small',
    responseModel: 'text-embedding-3-small',
    operation: 'embeddings',
    input: [420, 0.9],
    output: [0, 0],
    tokensPerSecond: 0,
    ttftMedianMs: 0,
    rateLimitType: OPENAI_RATE_LIMIT,
    rateLimitMessage: 'Rate limit reached for text-embedding-3-small on tokens per min (TPM): Limit 1000000.',
    serverErrorType: 'server_error',
  },
};

interface Feature {
  name: string;
  route: string;
  prompts: readonly string[];
  responses: readonly string[];
}

interface ProjectProfile {
  name: DemoProjectName;
  serviceName: string;
  /** Share of all demo traffic. */
  weight: number;
  /** Range of user indexes (inclusive) the project serves; ranges overlap like real products. */
  users: [number, number];
  models: readonly (readonly [string, number])[];
  features: readonly Feature[];
  otlpShare: number;
  stagingShare: number;
  /** Share of chat calls that stream (and so report time to first token). */
  streamingShare: number;
}

const PROJECTS: readonly ProjectProfile[] = [
  {
    name: 'support-bot',
    serviceName: 'support-bot',
    weight: 0.45,
    users: [0, 129],
    models: [
      ['gpt-4o-mini', 0.55],
      ['gpt-4o', 0.2],
      ['claude-3-5-haiku', 0.25],
    ],
    features: [
      {
        name: 'ticket-triage',
        route: 'POST /api/tickets/triage',
        prompts: [
          'Classify this support ticket by category and urgency: "I was charged twice for my March invoice."',
          'Classify this support ticket by category and urgency: "The export button does nothing on Safari."',
          'Classify this support ticket by category and urgency: "How do I add a teammate to my workspace?"',
        ],
        responses: [
          '{"category":"billing","urgency":"high"}',
          '{"category":"bug","urgency":"medium"}',
          '{"category":"how-to","urgency":"low"}',
        ],
      },
      {
        name: 'reply-draft',
        route: 'POST /api/tickets/reply',
        prompts: [
          'Draft a friendly reply to a customer asking for a refund of a duplicate charge. Policy: refunds within 30 days.',
          'Draft a reply explaining how to reset two-factor authentication.',
        ],
        responses: [
          "Hi! Thanks for flagging this — I can see the duplicate charge and I've issued a refund; it should arrive in 3–5 business days.",
          'Hi! To reset two-factor authentication, open Settings → Security and choose "Reset 2FA". You will get a confirmation email.',
        ],
      },
      {
        name: 'kb-answer',
        route: 'POST /api/chat',
        prompts: ['Using the help-center articles below, answer: "Can I change my billing currency?"'],
        responses: ['Yes. Billing currency can be changed once per year from Settings → Billing → Currency.'],
      },
      {
        name: 'summarise-thread',
        route: 'POST /api/tickets/summary',
        prompts: ['Summarise this 14-message support thread for the escalation team.'],
        responses: [
          'Customer reports intermittent 502s since Tuesday; two workarounds failed; needs an engineer to check the EU gateway.',
        ],
      },
    ],
    otlpShare: 0.3,
    stagingShare: 0.12,
    streamingShare: 0.7,
  },
  {
    name: 'code-assistant',
    serviceName: 'code-assistant',
    weight: 0.35,
    users: [90, 199],
    models: [
      ['claude-sonnet-4', 0.5],
      ['o3-mini', 0.2],
      ['gpt-4o', 0.15],
      ['claude-3-5-haiku', 0.15],
    ],
    features: [
      {
        name: 'inline-complete',
        route: 'POST /v1/complete',
        prompts: [
          'Complete the function body:\nexport function debounce<T extends (...a: unknown[]) => void>(fn: T, ms: number) {',
        ],
        responses: [
          '  let timer: ReturnType<typeof setTimeout> | undefined;\n  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };',
        ],
      },
      {
        name: 'chat',
        route: 'POST /v1/chat',
        prompts: [
          'Why does this React effect run twice in development?',
          'Explain the difference between a mutex and a semaphore.',
        ],
        responses: [
          'In development, React StrictMode mounts, unmounts and remounts components to surface effects without cleanup.',
          'A mutex admits one holder and is released by its owner; a semaphore admits up to N holders and any thread may signal it.',
        ],
      },
      {
        name: 'code-review',
        route: 'POST /v1/review',
        prompts: ['Review this diff for bugs and style issues (142 lines changed in src/billing/invoice.ts).'],
        responses: [
          '1. `total` is computed before discounts are applied (line 48). 2. The retry loop never backs off.',
        ],
      },
      {
        name: 'test-gen',
        route: 'POST /v1/tests',
        prompts: ['Write vitest unit tests for parseDuration(text: string): number | null.'],
        responses: [
          "describe('parseDuration', () => { it('parses hours', () => expect(parseDuration('2h')).toBe(7_200_000)); });",
        ],
      },
    ],
    otlpShare: 0.7,
    stagingShare: 0.2,
    streamingShare: 0.85,
  },
  {
    name: 'search-rag',
    serviceName: 'search-rag',
    weight: 0.2,
    users: [0, 199],
    models: [
      ['text-embedding-3-small', 0.45],
      ['gemini-2.0-flash', 0.35],
      ['gpt-4o-mini', 0.2],
    ],
    features: [
      {
        name: 'query-rewrite',
        route: 'GET /search',
        prompts: ['Rewrite the search query for retrieval: "cheap flights lisbon may no layover"'],
        responses: ['direct flights to Lisbon in May, lowest fare'],
      },
      {
        name: 'answer',
        route: 'GET /search',
        prompts: ['Answer using only the 8 passages below. Question: "What is the parental leave policy?"'],
        responses: ['Employees get 20 weeks of paid parental leave, usable within the first year [passage 3].'],
      },
      {
        name: 'rerank',
        route: 'GET /search',
        prompts: ['Score the relevance of each of the 20 passages to the query "quarterly revenue 2024".'],
        responses: ['[0.91,0.12,0.77,0.05,0.64,…]'],
      },
    ],
    otlpShare: 0.5,
    stagingShare: 0.1,
    streamingShare: 0.4,
  },
];

const EMBED_FEATURE: Feature = {
  name: 'embed',
  route: 'POST /index/documents',
  prompts: ['(document chunk, 512 tokens)'],
  responses: [],
};

export const DEMO_USER_COUNT = 200;

/** Error probability of a first attempt; retries fail less often. */
export const DEMO_ERROR_RATE = 0.02;

// Heavy users dominate real traffic: Zipf-like weights over user indexes.
const USER_WEIGHTS = Array.from({ length: DEMO_USER_COUNT }, (_, i) => 1 / (i + 1) ** 0.8);

export function demoUserId(index: number): string {
  return `user-${String(index + 1).padStart(4, '0')}`;
}

function userTier(index: number): string {
  if (index % 17 === 0) return 'enterprise';
  if (index % 4 === 0) return 'pro';
  return 'free';
}

function pickUser(rng: Rng, [lo, hi]: [number, number]): number {
  let total = 0;
  for (let i = lo; i <= hi; i++) total += USER_WEIGHTS[i] as number;
  let r = rng.next() * total;
  for (let i = lo; i <= hi; i++) {
    r -= USER_WEIGHTS[i] as number;
    if (r < 0) return i;
  }
  return hi;
}

const SESSION_MS = 30 * 60_000;

/** Calls by one user within the same half hour share a session, as a chat or IDE session would. */
export function demoSessionId(userId: string, atMs: number): string {
  return `sess-${userId}-${Math.floor(atMs / SESSION_MS).toString(36)}`;
}

const clampInt = (v: number, lo: number, hi: number): number => Math.round(Math.min(hi, Math.max(lo, v)));

function buildUsage(rng: Rng, m: ModelProfile, inputRange: [number, number] | null): DemoUsage {
  const inputTokens = inputRange
    ? Math.round(rng.uniform(inputRange[0], inputRange[1]))
    : clampInt(rng.logNormal(m.input[0], m.input[1]), 8, 1_000_000);
  let cacheReadTokens = 0;
  let cacheWriteTokens = 0;
  if (m.cacheRead && rng.chance(m.cacheRead.probability)) {
    cacheReadTokens = Math.round(inputTokens * rng.uniform(m.cacheRead.share[0], m.cacheRead.share[1]));
  }
  if (m.cacheWrite && rng.chance(m.cacheWrite.probability)) {
    const room = inputTokens - cacheReadTokens;
    cacheWriteTokens = Math.round(room * rng.uniform(m.cacheWrite.share[0], m.cacheWrite.share[1]));
  }
  const reasoningTokens = m.reasoning ? clampInt(rng.logNormal(m.reasoning[0], m.reasoning[1]), 64, 60_000) : 0;
  const visibleOutput = m.output[0] > 0 ? clampInt(rng.logNormal(m.output[0], m.output[1]), 1, 16_000) : 0;
  return {
    inputTokens,
    outputTokens: visibleOutput + reasoningTokens,
    cacheReadTokens,
    cacheWriteTokens,
    reasoningTokens,
  };
}

interface Timing {
  latencyMs: number;
  ttftMs: number | null;
}

function buildTiming(rng: Rng, m: ModelProfile, usage: DemoUsage, streaming: boolean): Timing {
  if (m.operation === 'embeddings') return { latencyMs: clampInt(rng.logNormal(90, 0.5), 15, 5000), ttftMs: null };
  // Prefill grows with uncached input; generation with output tokens.
  const uncached = usage.inputTokens - usage.cacheReadTokens;
  const ttft = rng.logNormal(m.ttftMedianMs, 0.35) + uncached * 0.02;
  const generation = (usage.outputTokens / m.tokensPerSecond) * 1000 * rng.uniform(0.85, 1.2);
  const latencyMs = clampInt(ttft + generation, 20, 600_000);
  return { latencyMs, ttftMs: streaming ? clampInt(ttft, 10, latencyMs) : null };
}

type ErrorKind = 'rate_limit' | 'timeout' | 'server_error';

function errorFor(kind: ErrorKind, m: ModelProfile): { type: string; message: string; latencyMs: number } {
  switch (kind) {
    case 'rate_limit':
      return { type: m.rateLimitType, message: m.rateLimitMessage, latencyMs: 0 };
    case 'timeout':
      return { type: 'timeout', message: 'Request timed out after 60000 ms', latencyMs: 60_000 };
    case 'server_error':
      return {
        type: m.serverErrorType,
        message: m.provider === 'anthropic' ? 'Overloaded' : 'The server had an error while processing your request.',
        latencyMs: 0,
      };
  }
}

interface CallContext {
  project: ProjectProfile;
  modelKey: string;
  feature: Feature;
  userIndex: number;
  channel: DemoChannel;
  environment: 'production' | 'staging';
  streaming: boolean;
  traceId: string;
  parentSpanId: string;
}

function makeCall(
  rng: Rng,
  ctx: CallContext,
  atMs: number,
  attempt: number,
  spike: boolean,
  inputRange: [number, number] | null,
): DemoCall {
  const m = MODELS[ctx.modelKey] as ModelProfile;
  const userId = ctx.userIndex >= 0 ? demoUserId(ctx.userIndex) : 'svc-batch-indexer';
  const tier = ctx.userIndex >= 0 ? userTier(ctx.userIndex) : 'internal';
  const errorChance = attempt === 1 ? DEMO_ERROR_RATE : DEMO_ERROR_RATE / 2;
  const failed = rng.chance(errorChance);
  const base = {
    project: ctx.project.name,
    channel: ctx.channel,
    id: `demo_${rng.hex(20)}`,
    traceId: ctx.traceId,
    spanId: rng.hex(16),
    parentSpanId: ctx.parentSpanId,
    route: ctx.feature.route,
    serviceName: ctx.project.serviceName,
    startTimeMs: Math.round(atMs),
    provider: m.provider,
    requestModel: m.requestModel,
    model: m.responseModel,
    operation: m.operation,
    environment: ctx.environment,
    userId,
    sessionId: demoSessionId(userId, atMs),
    feature: ctx.feature.name,
    tags: [`feature:${ctx.feature.name}`, `tier:${tier}`],
    metadata: {
      feature: ctx.feature.name,
      tier,
      region: ctx.userIndex % 3 === 0 ? 'eu-west-1' : 'us-east-1',
      ...(attempt > 1 ? { attempt: String(attempt) } : {}),
    },
    prompt: ctx.feature.prompts.length > 0 ? rng.pick(ctx.feature.prompts) : null,
    attempt,
    spike,
  };
  if (failed) {
    const kind = rng.weighted<ErrorKind>([
      ['rate_limit', 0.55],
      ['timeout', 0.3],
      ['server_error', 0.15],
    ]);
    const e = errorFor(kind, m);
    const latencyMs =
      e.latencyMs > 0 ? e.latencyMs : clampInt(rng.logNormal(kind === 'rate_limit' ? 120 : 900, 0.5), 10, 30_000);
    return {
      ...base,
      latencyMs,
      ttftMs: null,
      status: 'error',
      errorType: e.type,
      errorMessage: e.message,
      // Providers bill nothing for rejected calls; a timed-out call may still have been charged, but is unknown.
      usage: null,
      response: null,
    };
  }
  const usage = buildUsage(rng, m, inputRange);
  const timing = buildTiming(rng, m, usage, ctx.streaming);
  return {
    ...base,
    latencyMs: timing.latencyMs,
    ttftMs: timing.ttftMs,
    status: 'ok',
    errorType: null,
    errorMessage: null,
    usage,
    response: ctx.feature.responses.length > 0 ? rng.pick(ctx.feature.responses) : null,
  };
}

/** Backoff a client waits before retrying a failed call. */
function retryDelayMs(rng: Rng, call: DemoCall): number {
  if (call.errorType === 'timeout') return rng.uniform(100, 500);
  return 1000 * 2 ** (call.attempt - 1) * rng.uniform(0.5, 1.5);
}

const MAX_ATTEMPTS = 3;

/** A call plus the client's retries after failures, as the application would make them. */
function callWithRetries(
  rng: Rng,
  ctx: CallContext,
  atMs: number,
  spike: boolean,
  inputRange: [number, number] | null = null,
): DemoCall[] {
  const calls = [makeCall(rng, ctx, atMs, 1, spike, inputRange)];
  let last = calls[0] as DemoCall;
  while (last.status === 'error' && last.attempt < MAX_ATTEMPTS) {
    const at = last.startTimeMs + last.latencyMs + retryDelayMs(rng, last);
    last = makeCall(rng, ctx, at, last.attempt + 1, spike, inputRange);
    calls.push(last);
  }
  return calls;
}

export interface BuildDemoCallsOptions {
  /** Calls start uniformly within [atMs, atMs + spreadMs). Default 1000. */
  spreadMs?: number;
}

/**
 * `count` application requests starting around `atMs`, across the three demo projects.
 * Failed calls are followed by the client's retries (new ids), so the result can be longer
 * than `count`. Sorted by start time.
 */
export function buildDemoCalls(rng: Rng, atMs: number, count: number, options: BuildDemoCallsOptions = {}): DemoCall[] {
  const spreadMs = options.spreadMs ?? 1000;
  const out: DemoCall[] = [];
  for (let i = 0; i < count; i++) {
    const project = rng.weighted(PROJECTS.map((p) => [p, p.weight] as const));
    const modelKey = rng.weighted(project.models);
    const model = MODELS[modelKey] as ModelProfile;
    const feature = model.operation === 'embeddings' ? EMBED_FEATURE : rng.pick(project.features);
    const ctx: CallContext = {
      project,
      modelKey,
      feature,
      userIndex: pickUser(rng, project.users),
      channel: rng.chance(project.otlpShare) ? 'otlp' : 'native',
      environment: rng.chance(project.stagingShare) ? 'staging' : 'production',
      streaming: model.operation === 'chat' && rng.chance(project.streamingShare),
      traceId: rng.hex(32),
      parentSpanId: rng.hex(16),
    };
    out.push(...callWithRetries(rng, ctx, atMs + rng.next() * spreadMs, false));
  }
  return out.sort((a, b) => a.startTimeMs - b.startTimeMs);
}

/** A cost spike recurs every `SPIKE_PERIOD_MS` and lasts `SPIKE_DURATION_MS` (epoch-aligned). */
export const SPIKE_PERIOD_MS = 12 * 60_000;
export const SPIKE_DURATION_MS = 90_000;
/** Extra long-context calls per second during a spike. */
export const SPIKE_CALLS_PER_SECOND = 0.2;
export const SPIKE_PROJECT: DemoProjectName = 'search-rag';

export function isSpikeAt(atMs: number): boolean {
  return ((atMs % SPIKE_PERIOD_MS) + SPIKE_PERIOD_MS) % SPIKE_PERIOD_MS < SPIKE_DURATION_MS;
}

/** How many milliseconds of [fromMs, toMs) fall inside spike windows. */
export function spikeOverlapMs(fromMs: number, toMs: number): number {
  let total = 0;
  let start = Math.floor(fromMs / SPIKE_PERIOD_MS) * SPIKE_PERIOD_MS;
  for (; start < toMs; start += SPIKE_PERIOD_MS) {
    const lo = Math.max(fromMs, start);
    const hi = Math.min(toMs, start + SPIKE_DURATION_MS);
    if (hi > lo) total += hi - lo;
  }
  return total;
}

/** Input tokens of one spike call: long documents, much of it above the 200k price tier. */
const SPIKE_INPUT_TOKENS: [number, number] = [120_000, 400_000];

const SPIKE_FEATURE: Feature = {
  name: 'bulk-doc-analysis',
  route: 'POST /jobs/reindex',
  prompts: ['Extract every obligation, party and deadline from the attached 380-page contract bundle.'],
  responses: ['{"obligations":212,"parties":9,"deadlines":37}'],
};

/**
 * A burst of long-context calls by one batch job in one project: the kind of episode that
 * turns a quiet afternoon into a budget alert. Input is 120k–400k tokens per call.
 */
export function buildSpikeCalls(
  rng: Rng,
  atMs: number,
  count: number,
  options: BuildDemoCallsOptions = {},
): DemoCall[] {
  const spreadMs = options.spreadMs ?? 1000;
  const project = PROJECTS.find((p) => p.name === SPIKE_PROJECT) as ProjectProfile;
  const out: DemoCall[] = [];
  for (let i = 0; i < count; i++) {
    const ctx: CallContext = {
      project,
      modelKey: 'claude-sonnet-4',
      feature: SPIKE_FEATURE,
      userIndex: -1,
      channel: 'native',
      environment: 'production',
      streaming: false,
      traceId: rng.hex(32),
      parentSpanId: rng.hex(16),
    };
    const calls = callWithRetries(rng, ctx, atMs + rng.next() * spreadMs, true, SPIKE_INPUT_TOKENS);
    for (const c of calls) {
      // Bulk documents are not cached; the job sends each one once.
      if (c.usage) c.usage = { ...c.usage, cacheReadTokens: 0, cacheWriteTokens: 0 };
    }
    out.push(...calls);
  }
  return out.sort((a, b) => a.startTimeMs - b.startTimeMs);
}

/** Relative traffic level by UTC hour: quiet at night, busiest mid-afternoon (0.35..1.0). */
export function diurnalFactor(atMs: number): number {
  const hour = (atMs / 3_600_000) % 24;
  return 0.675 + 0.325 * Math.cos(((hour - 15) / 24) * 2 * Math.PI);
}

/**
 * All demo calls for [fromMs, toMs): `callsPerHour` at peak, shaped by time of day, plus the
 * spike episodes that fall in the range. Built minute by minute.
 */
export function buildTrafficForRange(rng: Rng, fromMs: number, toMs: number, callsPerHour: number): DemoCall[] {
  const out: DemoCall[] = [];
  for (let t = fromMs; t < toMs; t += 60_000) {
    const end = Math.min(toMs, t + 60_000);
    const expected = (callsPerHour / 3_600_000) * (end - t) * diurnalFactor(t);
    out.push(...buildDemoCalls(rng, t, rng.poisson(expected), { spreadMs: end - t }));
    const spikeMs = spikeOverlapMs(t, end);
    if (spikeMs > 0) {
      const spikeStart = Math.max(t, Math.floor(t / SPIKE_PERIOD_MS) * SPIKE_PERIOD_MS);
      out.push(
        ...buildSpikeCalls(rng, spikeStart, rng.poisson((SPIKE_CALLS_PER_SECOND * spikeMs) / 1000), {
          spreadMs: spikeMs,
        }),
      );
    }
  }
  return out.sort((a, b) => a.startTimeMs - b.startTimeMs);
}

export type NativeEventInput = z.input<typeof nativeLlmCallSchema>;

/**
 * The native ingest event for a call. Anthropic calls report input without cached tokens
 * (as Anthropic's API does), so the server's usage normaliser is exercised both ways.
 */
export function toNativeEvent(call: DemoCall): NativeEventInput {
  const u = call.usage;
  const excludesCached = call.provider === 'anthropic';
  return {
    id: call.id,
    // Some clients send RFC 3339 strings, others epoch ms.
    timestamp: call.project === 'support-bot' ? new Date(call.startTimeMs).toISOString() : call.startTimeMs,
    provider: call.provider,
    model: call.model,
    requestModel: call.requestModel,
    operation: call.operation,
    environment: call.environment,
    latencyMs: call.latencyMs,
    ...(call.ttftMs !== null ? { ttftMs: call.ttftMs } : {}),
    status: call.status,
    ...(call.errorType !== null
      ? { error: { type: call.errorType, ...(call.errorMessage ? { message: call.errorMessage } : {}) } }
      : {}),
    ...(u
      ? {
          usage: {
            inputTokens: excludesCached ? u.inputTokens - u.cacheReadTokens - u.cacheWriteTokens : u.inputTokens,
            outputTokens: u.outputTokens,
            ...(u.cacheReadTokens > 0 ? { cacheReadTokens: u.cacheReadTokens } : {}),
            ...(u.cacheWriteTokens > 0 ? { cacheWriteTokens: u.cacheWriteTokens } : {}),
            ...(u.reasoningTokens > 0 ? { reasoningTokens: u.reasoningTokens } : {}),
            inputIncludesCached: !excludesCached,
          },
        }
      : {}),
    userId: call.userId,
    sessionId: call.sessionId,
    traceId: call.traceId,
    spanId: call.spanId,
    parentSpanId: call.parentSpanId,
    serviceName: call.serviceName,
    tags: call.tags,
    metadata: call.metadata,
    ...(call.prompt !== null ? { prompt: call.prompt } : {}),
    ...(call.response !== null ? { response: call.response } : {}),
  };
}
