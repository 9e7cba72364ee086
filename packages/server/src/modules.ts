/**
 * The modules this server runs, in order: part of the composition root. Adding a capability
 * is one line here (its definition lives in `src/<name>/module.ts`); removing one leaves the
 * rest compiling. The config schema takes each module's section from this list.
 */

import { alertingModule } from './alerting/module.js';
import { budgetsModule } from './budgets/module.js';
import { costModule } from './cost/module.js';
import { detectModule } from './detect/module.js';
import { forecastModule } from './forecast/module.js';
import { langfuseModule } from './langfuse/module.js';
import { logsModule } from './logs/module.js';
import type { AnyModule } from './platform/module-config.js';
import { quotaModule } from './quota/module.js';
import { recommendModule } from './recommend/module.js';
import { retentionModule } from './retention/module.js';

export const MODULES: readonly AnyModule[] = [
  retentionModule,
  costModule,
  langfuseModule,
  detectModule,
  logsModule,
  quotaModule,
  budgetsModule,
  forecastModule,
  recommendModule,
  alertingModule,
];
