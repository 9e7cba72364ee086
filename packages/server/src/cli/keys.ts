import { ApiClient, type ApiRequest, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { formatTime, renderTable } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { resolveProjectRefs } from './projects.js';

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

export function adminClient(o: KeysOptions, io: CliIo): ApiClient | null {
  const target = resolveClientTarget(o, io, 'admin');
  if (!target.token) {
    println(io.stderr, 'error: the admin token is required: pass --token or set RESKPOINTS_ADMIN_TOKEN');
    return null;
  }
  return new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
}

const SHOWN_ONCE = 'shown only this once; store it now';

/**
 * Sends one admin request and prints the answer: as JSON with --json, else through `render`.
 * `prepare` builds the request, or returns the problems that stop it (exit 2).
 */
export async function adminCall<T>(
  o: KeysOptions,
  io: CliIo,
  prepare: ApiRequest | ((client: ApiClient) => ApiRequest | Promise<ApiRequest | string[]>),
  render: (value: T, client: ApiClient) => void,
): Promise<number> {
  const client = adminClient(o, io);
  if (!client) return EXIT_USAGE;
  const req = typeof prepare === 'function' ? await prepare(client) : prepare;
  if (Array.isArray(req)) {
    for (const p of req) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const r = await client.request<T>(req);
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) println(io.stdout, JSON.stringify(r.value, null, 2));
  else render(r.value, client);
  return EXIT_OK;
}

/** A request on one project, named by its id or its name. */
async function onProject(
  client: ApiClient,
  ref: string,
  build: (projectId: string) => ApiRequest,
): Promise<ApiRequest | string[]> {
  const ids = await resolveProjectRefs(client, [ref], 'project', true);
  return ids.ok ? build(ids.value[0] ?? ref) : ids.error;
}

/** Shell lines that point an OpenTelemetry exporter (and scripts) at the server with a key. */
export function exportLines(baseUrl: string, key: string): string[] {
  return [
    `export RESKPOINTS_URL=${baseUrl}`,
    `export RESKPOINTS_INGEST_KEY=${key}`,
    `export OTEL_EXPORTER_OTLP_ENDPOINT=${baseUrl}`,
    `export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${key}"`,
  ];
}

export function runCreateProject(
  name: string,
  o: KeysOptions & { id?: string; env?: boolean },
  io: CliIo,
): Promise<number> {
  return adminCall<{ project: ProjectDto; apiKey: ApiKeyDto }>(
    o,
    io,
    () => ({ method: 'POST', path: '/api/v1/projects', body: { name, ...(o.id ? { id: o.id } : {}) } }),
    ({ project, apiKey }, client) => {
      const lines = exportLines(client.baseUrl, apiKey.key);
      if (o.env) {
        println(io.stdout, `# project ${project.id} (${project.name}); the key is shown only this once`);
        for (const l of lines) println(io.stdout, l);
        return;
      }
      println(io.stdout, `Created project ${project.id} (${project.name})`);
      println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${apiKey.key}`);
      println(io.stdout, 'Send OpenTelemetry traces with it:');
      for (const l of lines.slice(2)) println(io.stdout, `  ${l}`);
    },
  );
}

export function runListProjects(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ projects: ProjectDto[] }>(
    o,
    io,
    () => ({ method: 'GET', path: '/api/v1/projects' }),
    ({ projects }) => {
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
    },
  );
}

export function runCreateKey(project: string, o: KeysOptions & { name?: string }, io: CliIo): Promise<number> {
  let projectId = project;
  return adminCall<{ apiKey: ApiKeyDto }>(
    o,
    io,
    (client) =>
      onProject(client, project, (id) => {
        projectId = id;
        return {
          method: 'POST',
          path: `/api/v1/projects/${encodeURIComponent(id)}/keys`,
          body: o.name ? { name: o.name } : {},
        };
      }),
    ({ apiKey }) => {
      println(io.stdout, `Created key ${apiKey.id} for project ${projectId}`);
      println(io.stdout, `Ingest key (${SHOWN_ONCE}): ${apiKey.key}`);
    },
  );
}

export function runCreateLangfuseKey(project: string, o: KeysOptions & { name?: string }, io: CliIo): Promise<number> {
  let projectId = project;
  return adminCall<{ langfuseKey: { id: string; publicKey: string; secretKey: string } }>(
    o,
    io,
    (client) =>
      onProject(client, project, (id) => {
        projectId = id;
        return {
          method: 'POST',
          path: `/api/v1/projects/${encodeURIComponent(id)}/langfuse-keys`,
          body: o.name ? { name: o.name } : {},
        };
      }),
    ({ langfuseKey }) => {
      println(io.stdout, `Created Langfuse key pair ${langfuseKey.id} for project ${projectId}`);
      println(io.stdout, `LANGFUSE_PUBLIC_KEY=${langfuseKey.publicKey}`);
      println(io.stdout, `LANGFUSE_SECRET_KEY=${langfuseKey.secretKey}   (${SHOWN_ONCE})`);
    },
  );
}
