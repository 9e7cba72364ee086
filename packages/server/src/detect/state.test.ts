import { describeStateSql } from '../platform/testing/state-sql.js';
import { DETECT_STATE_MODULE, detectStateContract } from './state.contract.js';

describeStateSql('detect state', { backend: 'duckdb', modules: [DETECT_STATE_MODULE] }, detectStateContract);
