/**
 * Where the rules come from: the config section's inline `rules` plus the YAML `rulesFile`.
 * The file is re-read when its size or modification time changes (checked at every
 * evaluation pass, so no watcher is needed on network file systems); an invalid edit keeps the
 * rules in force and logs every problem, and `problems()` reports them to the API.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AlertingConfig } from './config.js';
import { parseRules, parseRulesYaml, type Rule } from './rules.js';

export class RulesSource {
  private rules: Rule[] = [];
  private lastProblems: string[] = [];
  private signature = '';

  constructor(
    private readonly config: () => AlertingConfig,
    private readonly logger: Logger,
  ) {
    this.refresh(true);
  }

  current(): readonly Rule[] {
    return this.rules;
  }

  problems(): readonly string[] {
    return this.lastProblems;
  }

  /** Re-reads the file if it changed (or always with `force`). */
  refresh(force = false): void {
    const c = this.config();
    let sig = `${JSON.stringify(c.rules)}|${c.rulesFile}`;
    let text: string | null = null;
    if (c.rulesFile) {
      try {
        const st = statSync(c.rulesFile);
        sig += `|${st.size}|${st.mtimeMs}`;
      } catch {
        sig += '|missing';
      }
    }
    if (!force && sig === this.signature) return;
    this.signature = sig;
    const problems: string[] = [];
    const inline = parseRules(c.rules, 'alerting.rules');
    const next: Rule[] = inline.ok ? inline.value : [];
    if (!inline.ok) problems.push(...inline.error);
    if (c.rulesFile) {
      try {
        text = readFileSync(c.rulesFile, 'utf8');
      } catch (e) {
        problems.push(`${c.rulesFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (text !== null) {
        const fromFile = parseRulesYaml(text, c.rulesFile);
        if (fromFile.ok) next.push(...fromFile.value);
        else problems.push(...fromFile.error);
      }
    }
    const names = new Set<string>();
    for (const r of next) {
      if (names.has(r.name)) problems.push(`rule "${r.name}" is defined twice`);
      names.add(r.name);
    }
    this.lastProblems = problems;
    if (problems.length) {
      this.logger.warn({ problems }, 'alert rules not (re)loaded; the rules in force stay');
      return;
    }
    this.rules = next;
    this.logger.info({ rules: next.length }, 'alert rules loaded');
  }
}
