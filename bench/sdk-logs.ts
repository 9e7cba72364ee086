/**
 * The logging SDK's added cost per log call against plain pino (`npm run bench:sdk`).
 *
 * Both loggers write JSON to a destination that discards it. The SDK logger runs the pino
 * integration: pattern mining, the policy decision, statistics and (for kept lines) parsing the
 * line and queueing it for OTLP. Nothing is sent: the cost measured is what the application's
 * thread pays per call. Printed: ns per call for each, the difference, and that difference for a
 * request that logs 10 lines, as a share of a 10 ms request.
 */

import pino from 'pino';
import { LogMiner } from '../packages/core/src/index.js';
import { createPinoIntegration, ReskPointsLogs } from '../packages/sdk/src/index.js';

const N = Number(process.env['BENCH_LINES'] ?? 300_000);
const sink = { write(_s: string) {} };
const messages = Array.from({ length: 4096 }, (_, i) =>
  i % 3 === 0 ? `cache miss for key user:${i} in ${i % 17}ms` : `GET /api/orders/${i} 200 in ${i % 13}ms`,
);

function run(logger: pino.Logger, logs?: ReskPointsLogs): number {
  // Shipping happens off the logging call; empty the queue so it does not grow across runs.
  (logs?.shipper as unknown as { buffer: unknown[] } | undefined)?.buffer.splice(0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) logger.info({ requestId: i }, messages[i & 4095] as string);
  return Number(process.hrtime.bigint() - t0) / N;
}

function sdkLogger(rate: number | null): { logger: pino.Logger; logs: ReskPointsLogs } {
  const logs = new ReskPointsLogs({
    url: 'http://127.0.0.1:9',
    apiKey: 'k',
    service: 'bench',
    maxBufferedLogs: 10 * N,
  });
  if (rate !== null) {
    // Sample the order pattern at `rate`.
    const id = new LogMiner().add(messages[1] as string).patternId;
    const problems = logs.policy.set({
      service: 'bench',
      alwaysKeepFrom: 'warn',
      defaultRate: 1,
      rules: [{ patternId: id, rate }],
    });
    if (problems.length) throw new Error(JSON.stringify(problems));
  }
  const { hooks } = createPinoIntegration(logs);
  return { logger: pino({ hooks }, sink), logs };
}

const plain = pino({}, sink);
const keepAll = sdkLogger(null);
const sampled = sdkLogger(0.1);
for (let r = 0; r < 2; r++) {
  run(plain);
  run(keepAll.logger, keepAll.logs);
  run(sampled.logger, sampled.logs);
}
const plainNs = run(plain);
const keepNs = run(keepAll.logger, keepAll.logs);
const sampledNs = run(sampled.logger, sampled.logs);
const share = (ns: number) => (((ns - plainNs) * 10) / 10_000_000) * 100;
console.log(`sdk_plain_pino_ns_per_call=${plainNs.toFixed(0)}`);
console.log(
  `sdk_pino_keep_all_ns_per_call=${keepNs.toFixed(0)} added_ns=${(keepNs - plainNs).toFixed(0)} share_of_10ms_request_with_10_lines=${share(keepNs).toFixed(3)}%`,
);
console.log(
  `sdk_pino_sampled_10pct_ns_per_call=${sampledNs.toFixed(0)} added_ns=${(sampledNs - plainNs).toFixed(0)} share_of_10ms_request_with_10_lines=${share(sampledNs).toFixed(3)}%`,
);
