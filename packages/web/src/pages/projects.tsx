import { useState } from 'preact/hooks';
import { api, type KeyInfo, type Project } from '../api.js';
import { Card, Status, TableWrap } from '../components.js';
import { formatTime } from '../format.js';
import { useApi, usePageReady } from '../hooks.js';

interface Issued {
  projectId: string;
  key: string;
}

/** The copy-paste set-up for a new key: OTel environment and a native-API call against this server. */
export function setupSnippet(origin: string, key: string): string {
  return `# OpenTelemetry (any OTLP/HTTP exporter)
export OTEL_EXPORTER_OTLP_ENDPOINT=${origin}
export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${key}"

# or the native batch API
curl -s -X POST ${origin}/api/v1/ingest -H "Authorization: Bearer ${key}" \\
  -H 'content-type: application/json' \\
  -d '{"batch":[{"id":"hello-1","timestamp":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'","provider":"openai","model":"gpt-4o-mini","latencyMs":500,"usage":{"inputTokens":100,"outputTokens":20}}]}'`;
}

export function Projects(props: { isAdmin: boolean }) {
  const [refresh, setRefresh] = useState(0);
  const projects = useApi<{ projects: Project[] }>(props.isAdmin ? '/api/v1/projects' : null, null, refresh);
  const [name, setName] = useState('');
  const [issued, setIssued] = useState<Issued | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  usePageReady(!props.isAdmin || !projects.loading);

  if (!props.isAdmin)
    return (
      <>
        <h1>Projects and keys</h1>
        <p>Managing projects and keys needs the admin token. You are signed in with a project key.</p>
      </>
    );

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const res = await api<{ project: Project; apiKey: { key: string } }>('/api/v1/projects', {
        method: 'POST',
        body: { name: name.trim() },
      });
      setIssued({ projectId: res.project.id, key: res.apiKey.key });
      setSelected(res.project.id);
      setName('');
      setRefresh((r) => r + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <>
      <h1>Projects and keys</h1>
      <Card title="Create a project">
        <form class="toolbar" onSubmit={create}>
          <label class="grow">
            <span class="label">Project name</span>
            <input
              value={name}
              required
              maxLength={200}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="btn primary" disabled={!name.trim()}>
            Create project
          </button>
        </form>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </Card>
      {issued && <IssuedKey issued={issued} onDone={() => setIssued(null)} />}
      <Card title="Projects">
        <Status loading={projects.loading && !projects.data} error={projects.error} />
        {projects.data && projects.data.projects.length === 0 && (
          <p class="muted">No projects yet. Create one above.</p>
        )}
        <ul class="project-list">
          {projects.data?.projects.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class="link"
                aria-expanded={selected === p.id}
                onClick={() => setSelected(selected === p.id ? null : p.id)}
              >
                {p.name}
              </button>{' '}
              <code>{p.id}</code> <span class="muted">created {formatTime(p.createdAtMs, false)}</span>
              {selected === p.id && <Keys projectId={p.id} onIssued={setIssued} />}
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}

function IssuedKey(props: { issued: Issued; onDone: () => void }) {
  const snippet = setupSnippet(location.origin, props.issued.key);
  const [copied, setCopied] = useState(false);
  return (
    <section class="card notice" aria-labelledby="issued-title" role="status" data-issued-key>
      <h2 id="issued-title">New key for {props.issued.projectId}: copy it now, it is shown once</h2>
      <p>
        <code class="key" data-key>
          {props.issued.key}
        </code>
      </p>
      <pre>
        <code>{snippet}</code>
      </pre>
      <div class="toolbar">
        <button
          type="button"
          class="btn"
          onClick={() => void navigator.clipboard?.writeText(snippet).then(() => setCopied(true))}
        >
          {copied ? 'Copied' : 'Copy set-up'}
        </button>
        <button type="button" class="btn" onClick={props.onDone}>
          Done
        </button>
      </div>
    </section>
  );
}

function Keys(props: { projectId: string; onIssued: (i: Issued) => void }) {
  const [refresh, setRefresh] = useState(0);
  const keys = useApi<{ keys: KeyInfo[] }>(
    `/api/v1/projects/${encodeURIComponent(props.projectId)}/keys`,
    null,
    refresh,
  );
  const [error, setError] = useState<string | null>(null);
  const issue = async () => {
    setError(null);
    try {
      const res = await api<{ apiKey: { key: string } }>(
        `/api/v1/projects/${encodeURIComponent(props.projectId)}/keys`,
        {
          method: 'POST',
          body: { name: `dashboard ${new Date().toISOString().slice(0, 10)}` },
        },
      );
      props.onIssued({ projectId: props.projectId, key: res.apiKey.key });
      setRefresh((r) => r + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const revoke = async (k: KeyInfo) => {
    if (!confirm(`Revoke key ${k.prefix}…? Applications using it stop being able to send.`)) return;
    setError(null);
    try {
      await api(`/api/v1/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      setRefresh((r) => r + 1);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div class="keys">
      <Status loading={keys.loading && !keys.data} error={keys.error ?? error} />
      <TableWrap>
        <table class="compact" data-keys={props.projectId}>
          <caption class="sr-only">Keys of {props.projectId}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.keys.map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>{k.name}</td>
                <td>{formatTime(k.createdAtMs, false)}</td>
                <td>{k.revokedAtMs ? `revoked ${formatTime(k.revokedAtMs, false)}` : 'active'}</td>
                <td>
                  {!k.revokedAtMs && (
                    <button type="button" class="btn danger" onClick={() => revoke(k)}>
                      Revoke<span class="sr-only"> key {k.prefix}</span>
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <button type="button" class="btn" onClick={issue}>
        Create a key
      </button>
    </div>
  );
}
