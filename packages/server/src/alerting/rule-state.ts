/**
 * The state machine of alerts produced by a rule, as in Prometheus: a series that becomes
 * active is `pending`; once active for `forMs` it is `firing` (at once when `forMs` is 0); a
 * pending series that stops being active is dropped without a notification; a firing one
 * stays firing for `keepFiringForMs` after it was last active, then resolves.
 */
import { type Alert, fingerprint, type Labels } from './labels.js';

export type RuleAlertStatus = 'pending' | 'firing';

export interface RuleAlertState {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  status: RuleAlertStatus;
  activeAtMs: number;
  firedAtMs?: number;
  lastActiveAtMs: number;
  value: number;
}

export interface ActiveSeries {
  labels: Labels;
  annotations: Labels;
  value: number;
}

export interface RuleTiming {
  forMs: number;
  keepFiringForMs: number;
  /** How long a firing alert stays firing downstream without a fresh evaluation. */
  staleAfterMs: number;
}

export interface RuleStepResult {
  states: RuleAlertState[];
  /** Firing alerts (refreshed) and alerts resolved in this step, for the pipeline. */
  alerts: Alert[];
}

export function stepRule(
  previous: readonly RuleAlertState[],
  active: readonly ActiveSeries[],
  nowMs: number,
  timing: RuleTiming,
): RuleStepResult {
  const prev = new Map(previous.map((s) => [s.fingerprint, s]));
  const states: RuleAlertState[] = [];
  const alerts: Alert[] = [];
  const seen = new Set<string>();
  for (const series of active) {
    const fp = fingerprint(series.labels);
    if (seen.has(fp)) continue;
    seen.add(fp);
    const before = prev.get(fp);
    const activeAtMs = before?.activeAtMs ?? nowMs;
    const fires = before?.status === 'firing' || nowMs - activeAtMs >= timing.forMs;
    const state: RuleAlertState = {
      fingerprint: fp,
      labels: series.labels,
      annotations: series.annotations,
      status: fires ? 'firing' : 'pending',
      activeAtMs,
      lastActiveAtMs: nowMs,
      value: series.value,
    };
    if (fires) state.firedAtMs = before?.firedAtMs ?? nowMs;
    states.push(state);
    if (fires) alerts.push(toAlert(state, nowMs, nowMs + timing.staleAfterMs));
  }
  for (const before of previous) {
    if (seen.has(before.fingerprint) || before.status !== 'firing') continue;
    if (nowMs - before.lastActiveAtMs < timing.keepFiringForMs) {
      states.push(before);
      alerts.push(toAlert(before, nowMs, nowMs + timing.staleAfterMs));
    } else {
      alerts.push(toAlert(before, nowMs, nowMs));
    }
  }
  return { states, alerts };
}

function toAlert(s: RuleAlertState, nowMs: number, endsAtMs: number): Alert {
  return {
    labels: s.labels,
    annotations: s.annotations,
    startsAtMs: s.firedAtMs ?? s.activeAtMs,
    endsAtMs,
    updatedAtMs: nowMs,
  };
}
