/**
 * Where the rules come from: the config section's inline `rules`, the YAML `rulesFile`, and
 * rules managed through the API (table `alerting_api_rules`).
 *
 * - The file is re-read when its size or modification time changes (checked at every
 *   evaluation pass, so no watcher is needed on network file systems); an invalid edit keeps
 *   the config and file rules in force and logs every problem.
 * - API rules are reloaded when their revision changes (one small query per pass), so a rule
 *   written on any node reaches the evaluator on the leader at its next pass.
 * - Precedence: config and file rules own their names. The API refuses a name they use; if a
 *   later file edit takes the name of an API rule, the file's rule is evaluated and the API
 *   rule is skipped and reported as shadowed.
 *
 * `problems()` reports everything not in force to the API.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../platform/sql.js';
import type { AlertingConfig } from './config.js';
import type { AlertingRepo } from './repo.js';
import { parseRules, parseRulesYaml, type Rule, ruleSchema } from './rules.js';

export type RuleOrigin = 'config' | 'file' | 'api';

export interface SourcedRule {
  rule: Rule;
  origin: RuleOrigin;
  /** API rules: when last written, epoch ms. */
  updatedAtMs?: number;
}

export class RulesSource {
  private fileRules: SourcedRule[] = [];
  private fileProblems: string[] = [];
  private apiRules: SourcedRule[] = [];
  private apiProblems: string[] = [];
  private merged: SourcedRule[] = [];
  private mergedRules: Rule[] = [];
  private shadowProblems: string[] = [];
  private signature = '';
  private apiRev = -1;
  private apiLoading: Promise<void> | null = null;

  constructor(
    private readonly config: () => AlertingConfig,
    private readonly logger: Logger,
    private readonly api: { db: SqlExecutor; repo: AlertingRepo } | null = null,
  ) {
    this.refresh(true);
  }

  /** The rules in force, config and file rules first. */
  current(): readonly Rule[] {
    return this.mergedRules;
  }

  /** The rules in force with where each comes from. */
  sourced(): readonly SourcedRule[] {
    return this.merged;
  }

  /** Where the rule of this name in force comes from, if any. */
  originOf(name: string): RuleOrigin | undefined {
    return this.merged.find((s) => s.rule.name === name)?.origin;
  }

  /** Names taken by config and file rules (the API may not use them). */
  fileRuleOrigin(name: string): { origin: 'config' | 'file'; where: string } | undefined {
    const s = this.fileRules.find((x) => x.rule.name === name);
    if (!s) return undefined;
    return s.origin === 'file'
      ? { origin: 'file', where: this.config().rulesFile }
      : { origin: 'config', where: 'alerting.rules' };
  }

  problems(): readonly string[] {
    return [...this.fileProblems, ...this.apiProblems, ...this.shadowProblems];
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
    const next: SourcedRule[] = inline.ok ? inline.value.map((rule) => ({ rule, origin: 'config' as const })) : [];
    if (!inline.ok) problems.push(...inline.error);
    if (c.rulesFile) {
      try {
        text = readFileSync(c.rulesFile, 'utf8');
      } catch (e) {
        problems.push(`${c.rulesFile}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (text !== null) {
        const fromFile = parseRulesYaml(text, c.rulesFile);
        if (fromFile.ok) next.push(...fromFile.value.map((rule) => ({ rule, origin: 'file' as const })));
        else problems.push(...fromFile.error);
      }
    }
    const names = new Set<string>();
    for (const { rule: r } of next) {
      if (names.has(r.name)) problems.push(`rule "${r.name}" is defined twice`);
      names.add(r.name);
    }
    this.fileProblems = problems;
    if (problems.length) {
      this.logger.warn({ problems }, 'alert rules not (re)loaded; the rules in force stay');
    } else {
      this.fileRules = next;
      this.logger.info({ rules: next.length }, 'alert rules loaded');
    }
    this.merge();
  }

  /** Reloads the API rules if their revision changed (or always with `force`). */
  async refreshApi(force = false): Promise<void> {
    if (!this.api) return;
    // Concurrent callers (a route and the evaluator) share one load.
    while (this.apiLoading) await this.apiLoading;
    this.apiLoading = this.loadApi(force).finally(() => {
      this.apiLoading = null;
    });
    await this.apiLoading;
  }

  private async loadApi(force: boolean): Promise<void> {
    const { db, repo } = this.api as { db: SqlExecutor; repo: AlertingRepo };
    const rev = await repo.apiRulesRev(db);
    if (!force && rev === this.apiRev) return;
    const rows = await repo.listApiRules(db);
    const rules: SourcedRule[] = [];
    const problems: string[] = [];
    for (const row of rows) {
      let spec: unknown;
      try {
        spec = JSON.parse(row.body);
      } catch {
        problems.push(`API rule "${row.name}": stored body is not JSON`);
        continue;
      }
      const r = ruleSchema.safeParse(spec);
      if (!r.success) {
        problems.push(...r.error.issues.map((i) => `API rule "${row.name}": ${i.path.join('.')} ${i.message}`));
        continue;
      }
      rules.push({ rule: r.data, origin: 'api', updatedAtMs: row.updated_at_ms });
    }
    this.apiRules = rules;
    this.apiProblems = problems;
    this.apiRev = rev;
    this.merge();
  }

  private merge(): void {
    const taken = new Map(this.fileRules.map((s) => [s.rule.name, s.origin]));
    const shadow: string[] = [];
    const merged = [...this.fileRules];
    for (const s of this.apiRules) {
      const owner = taken.get(s.rule.name);
      if (owner) {
        shadow.push(
          `API rule "${s.rule.name}" is shadowed by the ${owner === 'file' ? 'rules file' : 'config'} rule of the same name`,
        );
        continue;
      }
      merged.push(s);
    }
    this.shadowProblems = shadow;
    this.merged = merged;
    this.mergedRules = merged.map((s) => s.rule);
  }
}
