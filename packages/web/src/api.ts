/** The public REST API, with the credential kept for this tab (sessionStorage). */

const TOKEN_KEY = 'rp-token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export async function api<T>(
  path: string,
  opts: { params?: URLSearchParams; method?: string; body?: unknown; signal?: AbortSignal; token?: string } = {},
): Promise<T> {
  const token = opts.token ?? getToken();
  const headers: Record<string, string> = {};
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const url = opts.params && [...opts.params].length > 0 ? `${path}?${opts.params}` : path;
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? null : JSON.stringify(opts.body),
    signal: opts.signal ?? null,
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page: reported below with the status.
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && !opts.token) for (const fn of unauthorizedListeners) fn();
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export interface Me {
  kind: 'admin' | 'project';
  projectId: string | null;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export interface SummaryRow extends Usage {
  bucketStartMs: number;
  group: Record<string, string | null>;
  requests: number;
  errors: number;
  errorRate: number;
  costUsd: number | null;
  unpricedRequests: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  ttftP95Ms: number | null;
  [extra: string]: unknown;
}

export interface SummaryResult {
  rows: SummaryRow[];
  precision: 'exact' | 'rollup';
}

export interface LlmCall {
  id: string;
  projectId: string;
  environment: string;
  source: string;
  traceId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  serviceName: string | null;
  provider: string;
  model: string;
  requestModel: string | null;
  responseModel: string | null;
  operation: string;
  startTimeMs: number;
  latencyMs: number;
  ttftMs: number | null;
  status: 'ok' | 'error';
  errorType: string | null;
  errorMessage: string | null;
  userId: string | null;
  sessionId: string | null;
  tags: string[];
  metadata: Record<string, string>;
  usageRaw: Record<string, number | string | null>;
  usage: Usage;
  /** Computed at ingest from the price book; totalUsd null = no price for this model. */
  cost: {
    totalUsd: number | null;
    inputUsd: number;
    outputUsd: number;
    cacheReadUsd: number;
    cacheWriteUsd: number;
    reasoningUsd: number;
    requestUsd: number;
    priceId: string | null;
    priceVersion: string | null;
    tier: string | null;
    tokensEstimated: boolean;
  };
  /** The cost the client reported, if any. */
  reportedCostUsd: number | null;
  promptExcerpt: string | null;
  responseExcerpt: string | null;
  ingestedAtMs: number;
  [extra: string]: unknown;
}

export interface TraceSummary {
  projectId: string;
  traceId: string;
  startTimeMs: number;
  endTimeMs: number;
  llmCalls: number;
  errors: number;
  costUsd: number | null;
  unpricedCalls: number;
  models: string[];
  rootSpanName: string | null;
}

export interface TraceSpan {
  projectId: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  serviceName: string | null;
  name: string;
  kind: string;
  startTimeMs: number;
  durationMs: number;
  statusCode: string;
  statusMessage: string | null;
  attributes: Record<string, string | number | boolean>;
  llmCallIds: string[];
  costUsd: number | null;
}

export interface TraceDetail {
  traceId: string;
  projectIds: string[];
  startTimeMs: number;
  endTimeMs: number;
  durationMs: number;
  errors: number;
  costUsd: number | null;
  unpricedCalls: number;
  spans: TraceSpan[];
  llmCalls: LlmCall[];
}

export interface Project {
  id: string;
  name: string;
  createdAtMs: number;
}

export interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAtMs: number;
  revokedAtMs: number | null;
}
