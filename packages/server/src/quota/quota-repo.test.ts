import { describeStateSql } from '../platform/testing/state-sql.js';
import { QUOTA_STATE_MODULE, quotaRepoContract } from './quota-repo.contract.js';

describeStateSql('quota rules state', { backend: 'duckdb', modules: [QUOTA_STATE_MODULE] }, quotaRepoContract);
