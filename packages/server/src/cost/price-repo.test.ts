import { describeStateSql } from '../platform/testing/state-sql.js';
import { COST_STATE_MODULE, priceRepoContract } from './price-repo.contract.js';

describeStateSql('price book state', { backend: 'duckdb', modules: [COST_STATE_MODULE] }, priceRepoContract);
