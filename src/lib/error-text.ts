/**
 * An error's message for operators and API callers: server paths (a DuckDB temp file, the data
 * directory) become `<path>`, so an answer that repeats a store's error does not reveal the
 * server's layout.
 */
export function errorTextWithoutPaths(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/(?:\/[^\s"'`,;:()<>]+){2,}\/?/g, "<path>");
}
