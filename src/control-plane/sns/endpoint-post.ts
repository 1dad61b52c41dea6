/** SNS waits 15 s for an endpoint; so does Cairn, and it follows no redirect (neither does SNS). */
const ENDPOINT_TIMEOUT_MS = 15_000;

/** What every message POST carries, whatever its type (SNS's own agent name and content type). */
const COMMON_HEADERS = {
  "content-type": "text/plain; charset=UTF-8",
  "user-agent": "Amazon Simple Notification Service Agent",
};

/**
 * POSTs one SNS message (a SubscriptionConfirmation or a Notification) to a subscription's endpoint:
 * at most ENDPOINT_TIMEOUT_MS, no redirect followed, the answer's body never read. Resolves to
 * undefined when the endpoint answered 2xx, else to why not (`HTTP 500`, `ECONNREFUSED`, `TimeoutError`):
 * a reason never names the endpoint, whose URL may carry the subscriber's own secret.
 */
export async function postToEndpoint(
  endpoint: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  /** Aborted as the server closes: a slow endpoint does not hold the process open. */
  shutdown: AbortSignal,
): Promise<string | undefined> {
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.any([AbortSignal.timeout(ENDPOINT_TIMEOUT_MS), shutdown]),
      headers: { ...COMMON_HEADERS, ...headers },
      body,
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status <= 299 ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    if (shutdown.aborted) return "the server stopped";
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause's.
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const name = error instanceof Error ? error.name : "Error";
    return String(cause?.code ?? (name === "TypeError" ? "the connection failed" : name));
  }
}
