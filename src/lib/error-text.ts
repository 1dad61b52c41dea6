/**
 * An error's message for operators and API callers: server paths (a DuckDB temp file, the data
 * directory) become `<path>`, so an answer that repeats a store's error does not reveal the
 * server's layout.
 */
export function errorTextWithoutPaths(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(?:\/[^\s"'`,;:()<>]+){2,}\/?/g, "<path>");
}

/**
 * An error text for the unauthenticated `/health`: engine addresses, which a store's unavailability
 * message names for the operator's log (`postgres://user@host:port/db`, `nats://host:port`, a
 * driver's `connect ECONNREFUSED 10.0.0.5:5432`), become `<engine>://…` and `<address>`, and server
 * paths `<path>`.
 */
export function errorTextForHealth(error: unknown): string {
  return errorTextWithoutPaths(error)
    .replace(/\b(postgres(?:ql)?|nats):\/\/\S+/gi, "$1://…")
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:.]+\](?::\d+)?/gi, "<address>");
}
