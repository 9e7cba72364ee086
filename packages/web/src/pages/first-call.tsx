import { useState } from 'preact/hooks';

interface NextStep {
  title: string;
  commands: string[];
  note?: string;
}

/** The server's next steps (with the address it was reached at), embedded in the page it served. */
export function serverNextSteps(doc: Document = document): { baseUrl: string; steps: NextStep[] } | null {
  const el = doc.getElementById('rp-next-steps');
  if (!el?.textContent) return null;
  try {
    return JSON.parse(el.textContent) as { baseUrl: string; steps: NextStep[] };
  } catch {
    return null;
  }
}

/**
 * What a fresh install shows instead of empty charts: how to get a key and send the first
 * call to this server, with its real address.
 */
export function FirstCall(props: { isAdmin: boolean }) {
  const embedded = serverNextSteps();
  const origin = embedded?.baseUrl ?? location.origin;
  const [copied, setCopied] = useState<number | null>(null);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const steps: NextStep[] = [
    ...(embedded?.steps ?? [
      {
        title: "Point your application's OpenTelemetry exporter at this server",
        commands: [
          `export OTEL_EXPORTER_OTLP_ENDPOINT=${origin}`,
          'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rpk_…"',
        ],
      },
    ]),
    {
      title: 'Or send one call with the native API',
      commands: [
        `curl -s -X POST ${origin}/api/v1/ingest -H "Authorization: Bearer rpk_…" \\`,
        `  -H 'content-type: application/json' \\`,
        `  -d '{"batch":[{"id":"first-call","timestamp":"${now}","provider":"openai","model":"gpt-4o-mini","latencyMs":840,"usage":{"inputTokens":1200,"outputTokens":150}}]}'`,
      ],
    },
  ];
  const copy = (i: number, text: string) => {
    void navigator.clipboard?.writeText(text).then(() => setCopied(i));
  };
  return (
    <section class="card first-call" aria-labelledby="first-call-title" data-empty-state>
      <h2 id="first-call-title">No LLM calls yet: send your first one</h2>
      <p>
        ReskPoints is running at <code>{origin}</code>. Point your application at it and this page fills with spend,
        requests, latency and errors.
      </p>
      <ol class="steps">
        {steps.map((s, i) => (
          <li key={s.title}>
            <h3>
              {i + 1}. {s.title}
            </h3>
            <pre>
              <code>{s.commands.join('\n')}</code>
            </pre>
            {s.note && <p class="muted">{s.note}</p>}
            <button type="button" class="btn" onClick={() => copy(i, s.commands.join('\n'))}>
              {copied === i ? 'Copied' : 'Copy'}
              <span class="sr-only"> step {i + 1}</span>
            </button>
          </li>
        ))}
      </ol>
      <p class="muted">
        {props.isAdmin && (
          <>
            You can also create a project and its key on the <a href="/projects">Projects</a> page.{' '}
          </>
        )}
        <code>npm run demo</code> starts the server with realistic demo traffic. The API is described at{' '}
        <a href="/docs">/docs</a>.
      </p>
    </section>
  );
}
