/**
 * Invariant assertions for the journal (style lesson 9). A failed invariant is a bug or on-disk
 * corruption, never an operating condition, so it throws a distinct error type that callers must not
 * catch and retry. (Candidate for src/lib/assert.ts once that module exists.)
 */
export class JournalInvariantError extends Error {
  override readonly name = "JournalInvariantError";
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new JournalInvariantError(message);
}
