import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { limiterContract } from './limiter.contract.js';
import { RedisQuotaLimiter } from './redis-limiter.js';

const REDIS_URL = process.env['RESKPOINTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('RedisQuotaLimiter', () => {
  limiterContract(async () => new RedisQuotaLimiter({ url: REDIS_URL, prefix: `rp-test-${randomUUID()}` }), 40);
});
