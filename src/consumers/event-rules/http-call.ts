/** What an HTTP call answered; the body is read only when asked for, and bounded. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The body as text, at most `bytesMax` bytes read (the rest is discarded). */
  readonly text: string;
}

/**
 * A call that got no answer: a timeout, a refused or reset connection, a name that does not
 * resolve, a shutdown (`retryable`); or a request the HTTP client would not send as it stands,
 * a header it refuses (not retryable: every attempt would fail the same way).
 */
export class NoAnswerError extends Error {
  override readonly name = "NoAnswerError";
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** undici's codes for a request it refuses to send, as opposed to a network that failed it. */
const REFUSED_REQUEST_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_INVALID_ARG",
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
]);

function isRefusedRequest(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === "string") return REFUSED_REQUEST_CODES.has(cause.code);
  // Headers refuses a value before any connection is made: a TypeError of its own, without a cause.
  return error instanceof TypeError && cause === undefined && error.message !== "fetch failed";
}

/**
 * An answer body this small that is not wanted is still read to its end (and dropped), so that its
 * keep-alive connection can carry the next call; a longer one is cancelled, which closes it.
 */
const DRAIN_BYTES_MAX = 64 * 1024;

async function boundedText(response: Response, bytesMax: number): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < Math.max(bytesMax, DRAIN_BYTES_MAX)) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size < bytesMax) chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel();
  return Buffer.concat(chunks).subarray(0, bytesMax).toString("utf8");
}

/** The calls in flight per shutdown signal, which has one listener for all (not one per call, past its limit of 10). */
const callsByShutdown = new WeakMap<AbortSignal, Set<AbortController>>();

/** Aborts `call` when `shutdown` is; the function returned ends the link. */
function linkToShutdown(shutdown: AbortSignal, call: AbortController): () => void {
  let calls = callsByShutdown.get(shutdown);
  if (calls === undefined) {
    const linked = new Set<AbortController>();
    callsByShutdown.set(shutdown, (calls = linked));
    shutdown.addEventListener("abort", () => linked.forEach((controller) => controller.abort(shutdown.reason)), {
      once: true,
    });
  }
  calls.add(call);
  return () => calls.delete(call);
}

/**
 * One signal for the call's deadline and the server's shutdown: AbortSignal.timeout and
 * AbortSignal.any cost more than the rest of a keep-alive call (bench/detection.ts). `done` clears both.
 */
function callSignal(timeoutMs: number, shutdown: AbortSignal | undefined): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("The call timed out.", "TimeoutError")), timeoutMs);
  let unlink = (): void => undefined;
  if (shutdown?.aborted === true) controller.abort(shutdown.reason);
  else if (shutdown !== undefined) unlink = linkToShutdown(shutdown, controller);
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      unlink();
    },
  };
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause's. */
function reasonOf(error: unknown, timeoutMs: number, shutdown: AbortSignal | undefined): string {
  if (shutdown?.aborted === true) return "the server is shutting down";
  const name = (error as { name?: unknown }).name;
  if (name === "TimeoutError" || name === "AbortError") return `timed out after ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  return String(cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : error));
}

/**
 * One HTTP request with a deadline for the whole exchange, following no redirect (a 3xx is the
 * answer). Throws NoAnswerError when no answer came in time.
 */
export async function httpCall(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
  options: { timeoutMs: number; shutdown?: AbortSignal; bodyBytesMax: number },
): Promise<HttpAnswer> {
  const { signal, done } = callSignal(options.timeoutMs, options.shutdown);
  try {
    const response = await fetch(url, { ...init, redirect: "manual", signal });
    const text = await boundedText(response, options.bodyBytesMax);
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    if (options.shutdown?.aborted !== true && isRefusedRequest(error)) {
      throw new NoAnswerError("The HTTP client refused the request (a header it does not send).", false, {
        cause: error,
      });
    }
    throw new NoAnswerError(reasonOf(error, options.timeoutMs, options.shutdown), true, { cause: error });
  } finally {
    done();
  }
}
