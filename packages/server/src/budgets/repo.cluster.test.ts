import { describeStateSql } from '../platform/testing/state-sql.js';
import { BUDGETS_STATE_MODULE, budgetRepoContract } from './repo.contract.js';

describeStateSql('budgets state', { backend: 'postgres', modules: [BUDGETS_STATE_MODULE] }, budgetRepoContract);
