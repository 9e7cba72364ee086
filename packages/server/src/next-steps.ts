/**
 * What a newcomer does next with a running server, with its real address: printed by the
 * first start and shown on the home page.
 */
export interface NextStep {
  /** What the step does. */
  title: string;
  /** Shell lines to run. */
  commands: string[];
  /** A note after the commands, if any. */
  note?: string;
}

export function nextSteps(baseUrl: string): NextStep[] {
  return [
    {
      title: 'Create a project and its ingest key (run in the folder the server was started from)',
      commands: ['npx reskpoints keys create-project my-app'],
      note: 'The rpk_… key is shown once.',
    },
    {
      title: "Point your application's OpenTelemetry exporter at this server",
      commands: [
        `export OTEL_EXPORTER_OTLP_ENDPOINT=${baseUrl}`,
        'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rpk_…"',
      ],
      note: 'Put the key from the first step in place of rpk_…',
    },
    {
      title: 'See what arrived',
      commands: ['npx reskpoints query summary --since 24h', 'npx reskpoints query calls'],
    },
  ];
}

/** The steps as plain text for a terminal. */
export function nextStepsText(baseUrl: string): string {
  const lines = ['Next steps:'];
  nextSteps(baseUrl).forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}:`);
    for (const c of s.commands) lines.push(`       ${c}`);
    if (s.note) lines.push(`     ${s.note}`);
  });
  lines.push(`  API reference: ${baseUrl}/docs`);
  return lines.join('\n');
}
