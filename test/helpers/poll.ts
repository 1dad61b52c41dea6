export interface PollOptions {
  /** Give up after this long. Generous by default: a loaded CI machine is slow, a hung one is not. */
  readonly timeoutMs?: number;
  /** Pause between two checks. */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout error; a function is called only then (to show the latest state). */
  readonly message?: string | (() => string);
}

/** What a check returns while the condition does not hold yet. */
type NotYet = undefined | null | false;

/**
 * Calls `check` until it returns something other than undefined, null or false, and resolves with
 * that; rejects once `timeoutMs` have passed. A check that throws ends the wait with its error.
 *
 * @example
 * await pollUntil(() => output.includes(marker), { message: "tail to print the marker" });
 * const row = await pollUntil(async () => (await rows())[0], { intervalMs: 100 });
 */
export async function pollUntil<T>(
  check: () => T | NotYet | Promise<T | NotYet>,
  options: PollOptions = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 25, message = "a condition" } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      throw new Error(
        `Gave up after ${timeoutMs} ms waiting for ${typeof message === "string" ? message : message()}.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
