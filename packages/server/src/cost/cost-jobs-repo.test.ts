import { describeStateSql } from '../platform/testing/state-sql.js';
import { costJobsRepoContract } from './cost-jobs-repo.contract.js';
import { COST_STATE_MODULE } from './price-repo.contract.js';

describeStateSql('cost job state', { backend: 'duckdb', modules: [COST_STATE_MODULE] }, costJobsRepoContract);
