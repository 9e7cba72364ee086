import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { formatTime, renderTable } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';

/** Options shared by the `reskpoints keys` commands. */
export interface KeysOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
}

interface ProjectDto {
  id: string;
  name: string;
  createdAtMs: number;
}
interface ApiKeyDto {
  id: string;
  key: string;
  prefix: string;
}

function adminClient(o: KeysOptions, io: CliIo): ApiClient | null {
  const target = resolveClientTarget(o, io, 'admin');
  if (!target.token) {
    println(io.stderr, 'error: the admin token is required: pass --token or set RESKPOINTS_ADMIN_TOKEN');
    return null;
  }
  return new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
}

const SHOWN_ONCE = 'shown only this once; store it now';

export async function runCreateProject(name: string, o: KeysOptions & { id?: string }, io: CliIo): Promise<number> {
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const r = await client.request<{ project: ProjectDto; apiKey: ApiKeyDto }>({
    method: 'POST',
    path: '/api/v1/projects',
    body: { name, ...(o.id ? { id: o.id } : {}) },
  });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  println(io.stdout, `Created project ${r.value.project.id} (${r.value.project.name})`);
  println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${r.value.apiKey.key}`);
  return EXIT_OK;
}

export async function runListProjects(o: KeysOptions, io: CliIo): Promise<number> {
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const r = await client.request<{ projects: ProjectDto[] }>({ method: 'GET', path: '/api/v1/projects' });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  const projects = r.value.projects;
  if (projects.length === 0) {
    println(io.stdout, 'No projects yet. Create one with: reskpoints keys create-project <name>');
    return EXIT_OK;
  }
  println(
    io.stdout,
    renderTable(
      [{ header: 'id' }, { header: 'name' }, { header: 'created (UTC)' }],
      projects.map((p) => [p.id, p.name, formatTime(p.createdAtMs)]),
    ),
  );
  return EXIT_OK;
}

export async function runCreateKey(projectId: string, o: KeysOptions & { name?: string }, io: CliIo): Promise<number> {
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const r = await client.request<{ apiKey: ApiKeyDto }>({
    method: 'POST',
    path: `/api/v1/projects/${encodeURIComponent(projectId)}/keys`,
    body: o.name ? { name: o.name } : {},
  });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  println(io.stdout, `Created key ${r.value.apiKey.id} for project ${projectId}`);
  println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${r.value.apiKey.key}`);
  return EXIT_OK;
}
