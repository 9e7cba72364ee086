import { describe } from 'vitest';
import { limiterContract } from './limiter.contract.js';
import { MemoryQuotaLimiter } from './memory-limiter.js';

describe('MemoryQuotaLimiter', () => {
  limiterContract(async () => new MemoryQuotaLimiter(), 300);
});
