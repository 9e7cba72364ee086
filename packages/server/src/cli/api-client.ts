import { err, type FieldIssue, ok, type Result } from '@reskpoints/core';

/** Why a request to the ReskPoints HTTP API did not succeed. */
export type ApiFailure =
  | {
      kind: 'http';
      status: number;
      /** The API's error code (e.g. RP_UNAUTHORIZED), when the body carried one. */
      code: string | null;
      message: string;
      issues: FieldIssue[];
      /** Seconds from the Retry-After header, for 429/503. */
      retryAfterSeconds: number | null;
    }
  | { kind: 'network'; code: string | null; message: string };

export interface ApiClientOptions {
  /** e.g. http://127.0.0.1:4318 */
  baseUrl: string;
  /** Bearer token: the admin token or a project key. */
  token?: string | undefined;
  fetch?: typeof fetch;
  /** Per-request timeout. Default 30 000 ms. */
  timeoutMs?: number;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: URLSearchParams | Record<string, string | undefined>;
  body?: unknown;
  /** Overrides the client's token for this request. */
  token?: string;
}

const NETWORK_HINTS: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is the server running (`reskpoints start`)?',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
};

function networkCode(e: unknown): string | null {
  const cause = (e as { cause?: { code?: string; errors?: Array<{ code?: string }> } })?.cause;
  if (cause?.code) return cause.code;
  const inner = cause?.errors?.find((x) => x.code)?.code;
  if (inner) return inner;
  if ((e as Error)?.name === 'TimeoutError') return 'ETIMEDOUT';
  return null;
}

/** A small JSON client for the ReskPoints HTTP API; every outcome is a value. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async request<T>(req: ApiRequest): Promise<Result<T, ApiFailure>> {
    const url = new URL(this.baseUrl + req.path);
    const query = req.query instanceof URLSearchParams ? req.query : Object.entries(req.query ?? {});
    for (const [k, v] of query) if (v !== undefined && v !== '') url.searchParams.append(k, v);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = req.token ?? this.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: req.method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const code = networkCode(e);
      const causeMessage = (e as { cause?: { message?: string } })?.cause?.message;
      const hint = (code && NETWORK_HINTS[code]) ?? causeMessage ?? (e as Error)?.message ?? String(e);
      return err({ kind: 'network', code, message: `cannot reach ${this.baseUrl}: ${hint}` });
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (res.ok) return ok(parsed as T);
    const apiError = (parsed as { error?: { code?: unknown; message?: unknown; issues?: unknown } } | null)?.error;
    const retryAfter = Number(res.headers.get('retry-after'));
    return err({
      kind: 'http',
      status: res.status,
      code: typeof apiError?.code === 'string' ? apiError.code : null,
      message:
        typeof apiError?.message === 'string'
          ? apiError.message
          : text.trim().slice(0, 300) || res.statusText || 'no details',
      issues: Array.isArray(apiError?.issues) ? (apiError.issues as FieldIssue[]) : [],
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null,
    });
  }
}

/** A one-line explanation for people, e.g. `HTTP 401 (RP_UNAUTHORIZED): missing bearer token`. */
export function describeApiFailure(f: ApiFailure): string {
  if (f.kind === 'network') return f.message;
  const code = f.code ? ` ${f.code}` : '';
  const issues = f.issues.length > 0 ? `\n${f.issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}` : '';
  return `HTTP ${f.status}${code}: ${f.message}${issues}`;
}
