import { useEffect, useState } from "react";

/** The query part of a hash route ("#/history?range=1h" → "range=1h"). */
function queryOf(hash: string): string {
  const at = hash.indexOf("?");
  return at < 0 ? "" : hash.slice(at + 1);
}

/**
 * The current route's query, following back/forward: search state lives in the URL so that a
 * copied link opens the same search and the browser's history steps through searches.
 */
export function useHashQuery(): string {
  const [query, setQuery] = useState(() => queryOf(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setQuery(queryOf(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return query;
}

/** Adds a history entry for the route with this query (a hashchange follows). */
export function navigateQuery(route: string, query: string): void {
  window.location.hash = `#/${route}${query === "" ? "" : `?${query}`}`;
}
