import { it } from 'vitest';

export interface ContractOptions {
  /** Test name → why this implementation skips it. Every skip carries its reason. */
  skip?: Record<string, string>;
}

/** Declares one contract test, or skips it with its reason shown in the report. */
export function contractTest(options: ContractOptions) {
  const skip = options.skip ?? {};
  return (testName: string, fn: () => Promise<void>, timeoutMs?: number) => {
    const reason = skip[testName];
    if (reason !== undefined) it.skip(`${testName} — skipped: ${reason}`, fn);
    else it(testName, fn, timeoutMs);
  };
}
