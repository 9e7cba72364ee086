/**
 * Every dashboard page, in nav order. Adding a page is one entry here (and its component
 * under `pages/`): the router, the nav, the document title and the server's answer to a shared
 * link all follow this list. See docs/dashboard.md, "Adding a page".
 */
import type { ComponentType } from 'preact';
import { AlertRules, Alerts, Notifications, Silences } from './pages/alerting.js';
import { Anomalies } from './pages/anomalies.js';
import { Budgets } from './pages/budgets.js';
import { Calls } from './pages/calls.js';
import { CostExplorer } from './pages/cost.js';
import { Live } from './pages/live.js';
import { Logs } from './pages/logs.js';
import { Overview } from './pages/overview.js';
import { Patterns } from './pages/patterns.js';
import { Policies } from './pages/policies.js';
import { Projects } from './pages/projects.js';
import { Forecasts, Quotas, Recommendations } from './pages/spend.js';
import { Traces } from './pages/traces.js';

/** What the shell hands every page. */
export interface PageProps {
  /** Bumped by the range picker's refresh button: reload data, re-resolve relative ranges. */
  refresh: number;
  onRefresh: () => void;
  /** Signed in with the admin token (else a project key: the API scopes everything to its project). */
  isAdmin: boolean;
}

export interface PageDef {
  /** URL path, `/` or `/name`; the page also answers every path under it (`/traces/{id}`). */
  path: string;
  /** The nav link's text and the document title. */
  label: string;
  component: ComponentType<PageProps>;
  /** Nav links to the page carry the current time range and filters (default true). */
  keepsFilters?: boolean;
  /** Listed in the nav only for the admin token. */
  adminOnly?: boolean;
}

export const PAGES: readonly PageDef[] = [
  { path: '/', label: 'Overview', component: Overview },
  { path: '/cost', label: 'Cost', component: CostExplorer },
  { path: '/forecasts', label: 'Forecasts', component: Forecasts },
  { path: '/quotas', label: 'Quotas', component: Quotas, keepsFilters: false },
  { path: '/recommendations', label: 'Recommendations', component: Recommendations },
  { path: '/anomalies', label: 'Anomalies', component: Anomalies },
  { path: '/budgets', label: 'Budgets', component: Budgets, keepsFilters: false },
  { path: '/alerts', label: 'Alerts', component: Alerts, keepsFilters: false, adminOnly: true },
  { path: '/silences', label: 'Silences', component: Silences, keepsFilters: false, adminOnly: true },
  { path: '/rules', label: 'Alert rules', component: AlertRules, keepsFilters: false, adminOnly: true },
  { path: '/notifications', label: 'Notifications', component: Notifications, keepsFilters: false, adminOnly: true },
  { path: '/calls', label: 'Calls', component: Calls },
  { path: '/traces', label: 'Traces', component: Traces },
  { path: '/live', label: 'Live', component: Live, keepsFilters: false },
  { path: '/logs', label: 'Logs', component: Logs },
  { path: '/patterns', label: 'Patterns', component: Patterns },
  { path: '/policies', label: 'Policies', component: Policies, keepsFilters: false },
  { path: '/projects', label: 'Projects', component: Projects, keepsFilters: false },
];

export function pageMatches(page: PageDef, path: string): boolean {
  return page.path === '/' ? path === '/' : path === page.path || path.startsWith(`${page.path}/`);
}

/** The page for a location path, or null (the shell shows "page not found"). */
export function pageFor(path: string, pages: readonly PageDef[] = PAGES): PageDef | null {
  return pages.find((p) => pageMatches(p, path)) ?? null;
}
