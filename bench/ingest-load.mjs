// Load generator for bench/ingest.mjs; runs in its own process so it does not share the
// server's event loop. The body is laid out once; each request fills in a fresh id prefix and
// current timestamps (as a live application would send), so duplicate checks stay local.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';

const MODELS = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['anthropic', 'claude-sonnet-4'],
  ['anthropic', 'claude-3-5-haiku'],
  ['google', 'gemini-2.0-flash'],
];

const TS = '"@TS@"';

/** Returns a function that builds one request body with unique ids and timestamps near now. */
function nativeTemplate(batch) {
  const events = [];
  for (let i = 0; i < batch; i++) {
    const [provider, model] = MODELS[i % MODELS.length];
    events.push({
      id: `@@-${i}`,
      timestamp: '@TS@',
      provider,
      model,
      operation: 'chat',
      latencyMs: 200 + ((i * 37) % 1800),
      ttftMs: 50 + (i % 200),
      status: i % 50 === 0 ? 'error' : 'ok',
      usage: { inputTokens: 500 + (i % 3000), outputTokens: 50 + (i % 500), cacheReadTokens: i % 4 === 0 ? 256 : 0 },
      userId: `user-${i % 2000}`,
      sessionId: `session-${i % 500}`,
      tags: ['feature:chat', `tier:${i % 3 === 0 ? 'free' : 'pro'}`],
    });
  }
  const parts = JSON.stringify({ batch: events }).split(TS);
  return () => {
    const prefix = randomBytes(8).toString('hex');
    const now = Date.now();
    let body = parts[0];
    for (let i = 1; i < parts.length; i++) body += String(now - i) + parts[i];
    return body.replaceAll('@@', prefix);
  };
}

/** A fixed-length marker in the OTLP body, replaced per request so records stay distinct. */
const MARK = 'MMMMMMMMMMMMMMMM';

/**
 * OTLP/HTTP protobuf logs, as the OpenTelemetry logs SDK's proto exporter sends them: `batch`
 * records of a service, HDFS-like lines with varying numbers, one in 50 at ERROR. Serialised once
 * by the exporters' own serializer; each request swaps the marker (an attribute value of every
 * record) for a fresh id of the same length, which leaves the protobuf lengths as they are.
 */
async function otlpLogsTemplate(batch) {
  const { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter } = await import(
    '@opentelemetry/sdk-logs'
  );
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const { ProtobufLogsSerializer } = await import('@opentelemetry/otlp-transformer');
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'bench-datanode', 'host.name': 'node-7' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('bench');
  const now = Date.now();
  for (let i = 0; i < batch; i++) {
    const error = i % 50 === 0;
    const block = `blk_${(1_000_000_007 * (i + 1)) % 9_999_999_967}`;
    const body = error
      ? `PacketResponder ${i % 3} for block ${block} terminating with exception java.io.IOException: Connection reset`
      : i % 3 === 0
        ? `Receiving block ${block} src: /10.250.${i % 250}.${(i * 7) % 250}:${50010 + (i % 40)} dest: /10.250.${(i * 3) % 250}.${i % 200}:50010`
        : i % 3 === 1
          ? `BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.${i % 250}.${(i * 11) % 250}:50010 is added to ${block} size ${67108864 - i * 13}`
          : `Served block ${block} to /10.251.${(i * 5) % 250}.${i % 250} in ${1 + (i % 900)} ms`;
    logger.emit({
      timestamp: now - batch + i,
      severityNumber: error ? 17 : 9,
      severityText: error ? 'ERROR' : 'INFO',
      body,
      attributes: { 'bench.request': MARK, 'thread.id': i % 16 },
    });
  }
  const bytes = Buffer.from(ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords()));
  const mark = Buffer.from(MARK);
  const offsets = [];
  for (let at = bytes.indexOf(mark); at >= 0; at = bytes.indexOf(mark, at + mark.length)) offsets.push(at);
  if (offsets.length !== batch) throw new Error(`marker found ${offsets.length} times, expected ${batch}`);
  return () => {
    const body = Buffer.from(bytes);
    const id = randomBytes(8).toString('hex');
    for (const at of offsets) body.write(id, at, 'latin1');
    return body;
  };
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// `maxEvents` (optional) stops the load once that many events were sent, warm-up included,
// so that two runs can load the same data set.
process.on('message', async ({ url, key, seconds, clients, batch, format = 'native', maxEvents }) => {
  const formats = {
    native: { path: '/api/v1/ingest', type: 'application/json', make: () => nativeTemplate(batch) },
    'otlp-logs': { path: '/v1/logs', type: 'application/x-protobuf', make: () => otlpLogsTemplate(batch) },
  };
  const f = formats[format];
  if (!f) throw new Error(`unknown format ${format}`);
  const makeBody = await f.make();
  const dispatcher = new Agent({ connections: clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies = [];
  // BENCH_TRACE=file writes "start_ms latency_ms" per acknowledged request, to look at the tail.
  const trace = process.env.BENCH_TRACE ? [] : null;
  let events = 0;
  let requests = 0;
  let refused = 0;
  let errors = 0;
  let sent = 0;
  const warmupMs = 2000;
  const start = performance.now();
  const endAt = start + warmupMs + seconds * 1000;
  let measuredFrom = 0;
  const run = async () => {
    while (performance.now() < endAt) {
      if (maxEvents && sent >= maxEvents) break;
      sent += batch;
      const body = makeBody();
      const t = performance.now();
      try {
        const res = await request(`${url}${f.path}`, {
          method: 'POST',
          dispatcher,
          headers: { authorization: `Bearer ${key}`, 'content-type': f.type },
          body,
        });
        await res.body.arrayBuffer();
        const done = performance.now();
        if (t - start < warmupMs) continue;
        if (!measuredFrom) measuredFrom = t;
        requests++;
        if (res.statusCode === 200) {
          events += batch;
          latencies.push(done - t);
          trace?.push(`${Math.round(t - start)} ${(done - t).toFixed(1)}`);
        } else if (res.statusCode === 429) {
          refused++;
          sent -= batch;
          await new Promise((r) => setTimeout(r, 50));
        } else {
          errors++;
          sent -= batch;
        }
      } catch {
        errors++;
        sent -= batch;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, run));
  const elapsedSec = (performance.now() - (measuredFrom || start)) / 1000;
  latencies.sort((a, b) => a - b);
  if (trace) writeFileSync(process.env.BENCH_TRACE, `${trace.join('\n')}\n`);
  process.send({
    eventsPerSec: events / elapsedSec,
    /** Accepted events, warm-up included. */
    totalEvents: sent,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    max: latencies.at(-1) ?? 0,
    requests,
    refused,
    errors,
  });
  await dispatcher.close();
  process.exit(0);
});
