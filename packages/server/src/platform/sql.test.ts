import { sqlPortContract } from './sql.contract.js';
import { describeStateSql } from './testing/state-sql.js';

describeStateSql('SQL port', { backend: 'duckdb' }, sqlPortContract);
