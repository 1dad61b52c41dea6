/** A command-line mistake (bad flag value, bad name): reported as `Error: …` with exit code 2, not 1. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
