import type { LlmCall } from '@reskpoints/core';

type Level = Map<string, Level | number>;

/**
 * series dimensions → series_id, as nested maps: looking a call up costs six map reads and
 * allocates nothing, where a concatenated key would build a string per call.
 */
export class SeriesIndex {
  private readonly root: Level = new Map();
  private readonly projectOf = new Map<number, string>();
  private maxId = 0;

  private static path(c: Pick<LlmCall, 'projectId' | 'environment' | 'provider' | 'model' | 'operation' | 'status'>) {
    return [c.projectId, c.environment, c.provider, c.model, c.operation, c.status] as const;
  }

  get(c: LlmCall): number | undefined {
    const id = (
      (
        (
          ((this.root.get(c.projectId) as Level | undefined)?.get(c.environment) as Level | undefined)?.get(
            c.provider,
          ) as Level | undefined
        )?.get(c.model) as Level | undefined
      )?.get(c.operation) as Level | undefined
    )?.get(c.status);
    return id as number | undefined;
  }

  set(dims: readonly string[], id: number): void {
    let level = this.root;
    for (let i = 0; i < dims.length - 1; i++) {
      let next = level.get(dims[i]!) as Level | undefined;
      if (!next) {
        next = new Map();
        level.set(dims[i]!, next);
      }
      level = next;
    }
    level.set(dims[dims.length - 1]!, id);
    this.projectOf.set(id, dims[0]!);
    if (id > this.maxId) this.maxId = id;
  }

  add(c: LlmCall): number {
    const id = this.maxId + 1;
    this.set(SeriesIndex.path(c), id);
    return id;
  }

  /** Forgets a series whose creation was rolled back. */
  delete(c: LlmCall, id: number): void {
    const dims = SeriesIndex.path(c);
    let level: Level | undefined = this.root;
    for (let i = 0; i < dims.length - 1 && level; i++) level = level.get(dims[i]!) as Level | undefined;
    level?.delete(dims[dims.length - 1]!);
    this.projectOf.delete(id);
    if (id === this.maxId) this.maxId = Math.max(0, ...this.projectOf.keys());
  }

  project(id: number): string | undefined {
    return this.projectOf.get(id);
  }
}
