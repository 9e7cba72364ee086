import { err, ok, type Result } from '@reskpoints/core';
import type { ApiClient } from './api-client.js';

interface ProjectDto {
  id: string;
  name: string;
}

/**
 * Turns project ids or names into ids. Listing projects needs the admin token; with a project
 * key the values go through unchanged and the server checks them (a key reads its own project
 * only). `single` asks for exactly one project per value.
 */
export async function resolveProjectRefs(
  client: ApiClient,
  refs: readonly string[],
  option: string,
  single = false,
): Promise<Result<string[], string[]>> {
  const listed = await client.request<{ projects: ProjectDto[] }>({ method: 'GET', path: '/api/v1/projects' });
  const projects = listed.ok ? listed.value?.projects : undefined;
  if (!Array.isArray(projects)) return ok([...refs]);
  const ids: string[] = [];
  const problems: string[] = [];
  for (const ref of refs) {
    if (projects.some((p) => p.id === ref)) {
      ids.push(ref);
      continue;
    }
    const named = projects.filter((p) => p.name === ref);
    if (named.length === 0) {
      const known = projects.map((p) => (p.name === p.id ? p.id : `${p.name} (${p.id})`)).join(', ');
      problems.push(
        `${option}: no project has the id or name ${JSON.stringify(ref)}${known ? `; projects: ${known}` : ''}`,
      );
    } else if (single && named.length > 1) {
      problems.push(
        `${option}: ${named.length} projects are named ${JSON.stringify(ref)}; give the id: ${named.map((p) => p.id).join(', ')}`,
      );
    } else ids.push(...named.map((p) => p.id));
  }
  return problems.length > 0 ? err(problems) : ok([...new Set(ids)]);
}
