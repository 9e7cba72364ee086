/** Turns the config section into the pipeline's compiled form, reporting every problem. */
import { err, ok, type Result } from '@reskpoints/core';
import type { AlertingConfig, RouteConfig } from './config.js';
import type { PipelineConfig, ReceiverPolicy } from './dispatcher.js';
import type { InhibitRule } from './inhibition.js';
import { parseMatchers } from './matchers.js';
import { allRoutes, buildRoute, type RouteSpec } from './routing.js';
import { parseTimeInterval, type TimeInterval, type TimeIntervalSpec } from './time-intervals.js';

export function compilePipeline(c: AlertingConfig): Result<PipelineConfig, string[]> {
  const problems: string[] = [];
  const matchers = (texts: string[] | undefined, where: string) => {
    const r = parseMatchers(texts ?? []);
    if (!r.ok) problems.push(...r.error.map((e) => `${where}: ${e}`));
    return r.ok ? r.value : [];
  };
  const toSpec = (r: RouteConfig, where: string): RouteSpec => {
    const spec: RouteSpec = { matchers: matchers(r.matchers, where) };
    if (r.receiver !== undefined) spec.receiver = r.receiver;
    if (r.continue !== undefined) spec.continue = r.continue;
    if (r.groupBy !== undefined) spec.groupBy = r.groupBy;
    if (r.groupWait !== undefined) spec.groupWaitMs = r.groupWait;
    if (r.groupInterval !== undefined) spec.groupIntervalMs = r.groupInterval;
    if (r.repeatInterval !== undefined) spec.repeatIntervalMs = r.repeatInterval;
    if (r.muteTimeIntervals) spec.muteTimeIntervals = r.muteTimeIntervals;
    if (r.activeTimeIntervals) spec.activeTimeIntervals = r.activeTimeIntervals;
    spec.routes = (r.routes ?? []).map((child, i) => toSpec(child, `${where}.routes[${i}]`));
    return spec;
  };
  const route = buildRoute(toSpec(c.route, 'alerting.route'));
  const timeIntervals: Record<string, TimeInterval[]> = {};
  for (const [name, specs] of Object.entries(c.timeIntervals)) {
    timeIntervals[name] = [];
    specs.forEach((s, i) => {
      const r = parseTimeInterval(s as TimeIntervalSpec);
      if (r.ok) timeIntervals[name]?.push(r.value);
      else problems.push(...r.error.map((e) => `alerting.timeIntervals.${name}[${i}]: ${e}`));
    });
  }
  const receivers: Record<string, ReceiverPolicy> = {};
  for (const r of c.receivers) {
    if (receivers[r.name]) problems.push(`alerting.receivers: duplicate receiver "${r.name}"`);
    receivers[r.name] = {
      sendResolved: r.sendResolved,
      ...(r.pagerduty?.acknowledgeSilenced ? { acknowledgeSilenced: true } : {}),
      ...(r.rateLimit ? { rateLimit: { max: r.rateLimit.max, windowMs: r.rateLimit.window } } : {}),
    };
  }
  for (const node of allRoutes(route)) {
    const where = `alerting.route (${node.id})`;
    if (!node.receiver) problems.push(`${where}: no receiver`);
    else if (node.receiver !== 'default' && !receivers[node.receiver])
      problems.push(`${where}: unknown receiver "${node.receiver}"`);
    for (const n of [...node.muteTimeIntervals, ...node.activeTimeIntervals])
      if (!timeIntervals[n]) problems.push(`${where}: unknown time interval "${n}"`);
  }
  const inhibitRules: InhibitRule[] = c.inhibitRules.map((r, i) => ({
    sourceMatchers: matchers(r.sourceMatchers, `alerting.inhibitRules[${i}].sourceMatchers`),
    targetMatchers: matchers(r.targetMatchers, `alerting.inhibitRules[${i}].targetMatchers`),
    equal: r.equal,
  }));
  return problems.length ? err(problems) : ok({ route, inhibitRules, timeIntervals, receivers });
}
