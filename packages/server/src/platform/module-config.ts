/**
 * How modules' config sections join the one config schema. Imported by `config/schema.ts`,
 * so it stays light: no adapters, no module code beyond the definitions.
 */
import type { z } from 'zod';
import type { ModuleDefinition } from './module.js';
import { PLATFORM_MODULE_NAME } from './platform-state.js';
import { assertModuleMigrations } from './state-migrations.js';

// biome-ignore lint/suspicious/noExplicitAny: a list of modules has heterogeneous config types
export type AnyModule = ModuleDefinition<any>;

/** `log-patterns` → `logPatterns`: the module's config section key. */
export function moduleSectionKey(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Throws when names repeat, are malformed, or migrations are malformed: a bad list is a bug. */
export function assertModuleList(modules: readonly AnyModule[], reservedKeys: Iterable<string> = []): void {
  const seen = new Set<string>([PLATFORM_MODULE_NAME]);
  const reserved = new Set(reservedKeys);
  for (const m of modules) {
    assertModuleMigrations(m.name, m.stateMigrations ?? []);
    if (seen.has(m.name)) throw new Error(`module ${m.name} is listed twice (or uses a reserved name)`);
    seen.add(m.name);
    if (m.config && reserved.has(moduleSectionKey(m.name)))
      throw new Error(`module ${m.name}: config section ${moduleSectionKey(m.name)} clashes with a platform setting`);
  }
}

/** The config sections of the modules, each defaulting to `{}` so that no configuration is needed. */
export function moduleConfigShape(modules: readonly AnyModule[]): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const m of modules) {
    if (!m.config) continue;
    shape[moduleSectionKey(m.name)] = (m.config.schema as z.ZodObject).prefault({});
  }
  return shape;
}

/** Dotted keys (`cost.defaultCurrency`) the modules declare hot-reloadable. */
export function moduleHotReloadableKeys(modules: readonly AnyModule[]): string[] {
  return modules.flatMap((m) => (m.config?.hotReloadable ?? []).map((k) => `${moduleSectionKey(m.name)}.${k}`));
}
