import { describeLangfuseConnector } from './langfuse-connector.contract.js';

describeLangfuseConnector('postgres');
