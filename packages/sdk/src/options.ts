/** Settings shared by the SDK's parts. Times in milliseconds. */
export interface ReskPointsLogOptions {
  /** Base URL of the ReskPoints server, e.g. http://127.0.0.1:4318. */
  url: string;
  /** A project ingest key (`rpk_…`). */
  apiKey: string;
  /** The service the logs come from; policies are per service. */
  service: string;
  /** `deployment.environment` of the logs. Default none. */
  environment?: string;
  /** How often the policy is fetched again (with its ETag). Default 60,000. */
  policyRefreshMs?: number;
  /** How often kept logs are sent. Default 1,000. */
  flushIntervalMs?: number;
  /** Logs per request. Default 500. */
  maxBatchLogs?: number;
  /** Kept logs waiting to be sent; past it the oldest below warn are dropped (and counted). Default 10,000. */
  maxBufferedLogs?: number;
  /** How often pattern statistics are reported. Default 60,000. */
  statsIntervalMs?: number;
  /** Request timeout. Default 10,000. */
  requestTimeoutMs?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
}

export function authHeaders(o: ReskPointsLogOptions): Record<string, string> {
  return { authorization: `Bearer ${o.apiKey}` };
}

export function endpoint(o: ReskPointsLogOptions, path: string): string {
  return `${o.url.replace(/\/+$/, '')}${path}`;
}
