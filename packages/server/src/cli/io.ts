import { type Clock, systemClock } from '@reskpoints/core';

/** Everything a command touches outside itself, so commands run the same in tests and in a terminal. */
export interface CliIo {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  fetch: typeof fetch;
  /** Registers a handler for a termination signal (long-running commands only). */
  onSignal(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  exit(code: number): void;
}

export function nodeIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    fetch: globalThis.fetch,
    onSignal: (signal, handler) => {
      process.on(signal, handler);
    },
    exit: (code) => process.exit(code),
  };
}

export const println = (stream: { write(text: string): void }, text = ''): void => stream.write(`${text}\n`);

/** Exit statuses: 0 ok, 1 failure (HTTP, network, runtime), 2 invalid configuration or usage. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
