import { ApiClient, type ApiRequest, describeApiFailure } from './api-client.js';
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

/** Sends one admin request and prints the answer: as JSON with --json, else through `render`. */
export async function adminCall<T>(
  o: KeysOptions,
  io: CliIo,
  req: ApiRequest,
  render: (value: T) => void,
): Promise<number> {
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const r = await client.request<T>(req);
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) println(io.stdout, JSON.stringify(r.value, null, 2));
  else render(r.value);
  return EXIT_OK;
}

export function runCreateProject(name: string, o: KeysOptions & { id?: string }, io: CliIo): Promise<number> {
  return adminCall<{ project: ProjectDto; apiKey: ApiKeyDto }>(
    o,
    io,
    { method: 'POST', path: '/api/v1/projects', body: { name, ...(o.id ? { id: o.id } : {}) } },
    ({ project, apiKey }) => {
      println(io.stdout, `Created project ${project.id} (${project.name})`);
      println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${apiKey.key}`);
    },
  );
}

export function runListProjects(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ projects: ProjectDto[] }>(o, io, { method: 'GET', path: '/api/v1/projects' }, ({ projects }) => {
    if (projects.length === 0) {
      println(io.stdout, 'No projects yet. Create one with: reskpoints keys create-project <name>');
      return;
    }
    println(
      io.stdout,
      renderTable(
        [{ header: 'id' }, { header: 'name' }, { header: 'created (UTC)' }],
        projects.map((p) => [p.id, p.name, formatTime(p.createdAtMs)]),
      ),
    );
  });
}

export function runCreateKey(projectId: string, o: KeysOptions & { name?: string }, io: CliIo): Promise<number> {
  return adminCall<{ apiKey: ApiKeyDto }>(
    o,
    io,
    {
      method: 'POST',
      path: `/api/v1/projects/${encodeURIComponent(projectId)}/keys`,
      body: o.name ? { name: o.name } : {},
    },
    ({ apiKey }) => {
      println(io.stdout, `Created key ${apiKey.id} for project ${projectId}`);
      println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${apiKey.key}`);
    },
  );
}

export function runCreateLangfuseKey(
  projectId: string,
  o: KeysOptions & { name?: string },
  io: CliIo,
): Promise<number> {
  return adminCall<{ langfuseKey: { id: string; publicKey: string; secretKey: string } }>(
    o,
    io,
    {
      method: 'POST',
      path: `/api/v1/projects/${encodeURIComponent(projectId)}/langfuse-keys`,
      body: o.name ? { name: o.name } : {},
    },
    ({ langfuseKey }) => {
      println(io.stdout, `Created Langfuse key pair ${langfuseKey.id} for project ${projectId}`);
      println(io.stdout, `LANGFUSE_PUBLIC_KEY=${langfuseKey.publicKey}`);
      println(io.stdout, `LANGFUSE_SECRET_KEY=${langfuseKey.secretKey}   (${SHOWN_ONCE})`);
    },
  );
}
