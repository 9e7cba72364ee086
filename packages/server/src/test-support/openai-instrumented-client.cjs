// An application instrumented the way users do it: the OpenTelemetry SDK exporting traces and
// logs over OTLP/protobuf, @opentelemetry/instrumentation-openai with content capture on, and the
// real `openai` client. Run as a child process (CommonJS, so the instrumentation hooks `require`).
// Env: RP_URL, RP_KEY (where to export), LLM_URL (the provider's base URL), PROMPT.
const { logs } = require('@opentelemetry/api-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-proto');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BatchLogRecordProcessor, LoggerProvider } = require('@opentelemetry/sdk-logs');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

const url = process.env.RP_URL;
const headers = { authorization: `Bearer ${process.env.RP_KEY}` };
const resource = resourceFromAttributes({ 'service.name': 'chat-app' });
const tracerProvider = new NodeTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${url}/v1/traces`, headers }))],
});
tracerProvider.register();
const loggerProvider = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${url}/v1/logs`, headers }) })],
});
logs.setGlobalLoggerProvider(loggerProvider);
registerInstrumentations({
  instrumentations: [new OpenAIInstrumentation({ captureMessageContent: true })],
  tracerProvider,
  loggerProvider,
});

const OpenAI = require('openai');

async function main() {
  const client = new OpenAI({ baseURL: `${process.env.LLM_URL}/v1`, apiKey: 'sk-fake' });
  const res = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You answer in one short sentence.' },
      { role: 'user', content: process.env.PROMPT },
    ],
  });
  // Logs first, then spans: the server sees the events before their call.
  if (process.env.LOGS_FIRST === '1') {
    await loggerProvider.forceFlush();
    await tracerProvider.forceFlush();
  } else {
    await tracerProvider.forceFlush();
    await loggerProvider.forceFlush();
  }
  await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
  process.stdout.write(`${JSON.stringify({ answer: res.choices[0].message.content })}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
