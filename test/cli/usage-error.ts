/** The usage error a call must throw: a CliError, exit code 2, one line. */
import { expect } from 'vitest';
import { CliError } from '../../daemon/cli/cli-error.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';

/** The usage error `call` throws; fails the test when it throws another error or none (`what` was accepted). */
export function usageError(call: () => unknown, what: string): CliError {
  try {
    call();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.USAGE);
    expect((err as CliError).line).not.toContain('\n');
    return err as CliError;
  }
  throw new Error(`${what} was accepted`);
}
