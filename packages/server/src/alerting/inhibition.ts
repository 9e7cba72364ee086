/**
 * Inhibition: a firing alert matching `sourceMatchers` mutes alerts matching `targetMatchers`
 * whose `equal` labels have the same values (a missing label equals a missing label). An alert
 * never inhibits itself.
 */
import { type Alert, fingerprint, isResolved, type Labels } from './labels.js';
import { type Matcher, matchesAll } from './matchers.js';

export interface InhibitRule {
  sourceMatchers: Matcher[];
  targetMatchers: Matcher[];
  equal: string[];
}

/** Fingerprints of the firing alerts that inhibit `target` (empty when none). */
export function inhibitedBy(
  rules: readonly InhibitRule[],
  target: Labels,
  firing: Iterable<Alert>,
  nowMs: number,
): string[] {
  const targetFp = fingerprint(target);
  const by: string[] = [];
  for (const rule of rules) {
    if (!matchesAll(rule.targetMatchers, target)) continue;
    for (const source of firing) {
      if (isResolved(source, nowMs) || !matchesAll(rule.sourceMatchers, source.labels)) continue;
      const fp = fingerprint(source.labels);
      if (fp === targetFp) continue;
      if (rule.equal.every((n) => (source.labels[n] ?? '') === (target[n] ?? ''))) by.push(fp);
    }
  }
  return by;
}
