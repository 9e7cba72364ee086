/**
 * The routing tree, as in Alertmanager: an alert walks down from the root; at each node the
 * children are tried in order and the first one that matches takes it, unless that child says
 * `continue`, in which case later siblings are tried too. A node none of whose children match
 * takes the alert itself. Children inherit grouping, timing and receiver from their parent.
 */
import type { Labels } from './labels.js';
import { type Matcher, matchesAll } from './matchers.js';

export interface RouteSpec {
  receiver?: string;
  matchers?: Matcher[];
  continue?: boolean;
  /** Label names, or `['...']` to group by all labels (one group per alert). */
  groupBy?: string[];
  groupWaitMs?: number;
  groupIntervalMs?: number;
  repeatIntervalMs?: number;
  /** Names of time intervals during which notifications from this route are muted. */
  muteTimeIntervals?: string[];
  /** Names of time intervals outside which notifications from this route are muted. */
  activeTimeIntervals?: string[];
  routes?: RouteSpec[];
}

export interface Route {
  /** Stable path in the tree, e.g. `0.1.0`: part of the group key. */
  id: string;
  receiver: string;
  matchers: Matcher[];
  continue: boolean;
  groupBy: string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  muteTimeIntervals: string[];
  activeTimeIntervals: string[];
  routes: Route[];
}

export const ROUTE_DEFAULTS = {
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
  repeatIntervalMs: 4 * 60 * 60_000,
};

/** Builds the tree with inherited settings. The root must name a receiver. */
export function buildRoute(spec: RouteSpec, parent?: Route, id = '0'): Route {
  const groupBy = spec.groupBy ? (spec.groupBy.includes('...') ? 'all' : spec.groupBy) : (parent?.groupBy ?? []);
  const route: Route = {
    id,
    receiver: spec.receiver ?? parent?.receiver ?? '',
    matchers: spec.matchers ?? [],
    continue: spec.continue ?? false,
    groupBy,
    groupWaitMs: spec.groupWaitMs ?? parent?.groupWaitMs ?? ROUTE_DEFAULTS.groupWaitMs,
    groupIntervalMs: spec.groupIntervalMs ?? parent?.groupIntervalMs ?? ROUTE_DEFAULTS.groupIntervalMs,
    repeatIntervalMs: spec.repeatIntervalMs ?? parent?.repeatIntervalMs ?? ROUTE_DEFAULTS.repeatIntervalMs,
    muteTimeIntervals: spec.muteTimeIntervals ?? [],
    activeTimeIntervals: spec.activeTimeIntervals ?? [],
    routes: [],
  };
  route.routes = (spec.routes ?? []).map((child, i) => buildRoute(child, route, `${id}.${i}`));
  return route;
}

/** The routes that take an alert with these labels (at least the root's). */
export function matchRoutes(root: Route, labels: Labels): Route[] {
  const walk = (node: Route): Route[] | null => {
    if (!matchesAll(node.matchers, labels)) return null;
    const taken: Route[] = [];
    for (const child of node.routes) {
      const got = walk(child);
      if (!got) continue;
      taken.push(...got);
      if (!child.continue) break;
    }
    return taken.length ? taken : [node];
  };
  return walk(root) ?? [root];
}

/** Every route in the tree, depth first (for listing and validation). */
export function allRoutes(root: Route): Route[] {
  return [root, ...root.routes.flatMap(allRoutes)];
}
