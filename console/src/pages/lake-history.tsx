import { useEffect, useState } from "react";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { listPastQueries, type PastQuery } from "../api/lake-query.js";
import { ErrorBanner } from "../components/status.js";
import { statusTone } from "../components/status-tone.js";
import { ZonedTime } from "../components/zoned-time.js";

/**
 * The store's recent queries (ListQueries, newest first, with their statements): open one to put its
 * statement back in the editor and, when it finished, show its results again without re-running it.
 * `refreshKey` changes whenever a query of this page ends, so the list follows.
 */
export function QueryHistory({
  storeId,
  refreshKey,
  onOpen,
}: {
  storeId: string;
  refreshKey: string;
  onOpen: (query: PastQuery) => void;
}) {
  const { client } = useSession();
  const [queries, setQueries] = useState<PastQuery[] | undefined>();
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (storeId === "") return;
    let current = true;
    listPastQueries(client, storeId)
      .then((found) => current && (setQueries(found), setError(undefined)))
      .catch((problem: unknown) => current && setError(describeError(problem).message));
    return () => {
      current = false;
    };
  }, [client, storeId, refreshKey]);

  return (
    <details className="query-history">
      <summary>Query history{queries ? ` (${queries.length})` : ""}</summary>
      {error && <ErrorBanner title="Could not list past queries" message={error} />}
      {queries?.length === 0 && <p className="muted">No query has run on this store yet.</p>}
      <ol aria-label="Query history">
        {(queries ?? []).map((query) => (
          <li key={query.queryId}>
            <ZonedTime date={query.created} />
            <span className={statusTone(query.status)}>{query.status}</span>
            <code className="history-statement" title={query.statement}>
              {query.statement ?? query.queryId}
            </code>
            <button
              type="button"
              className="small"
              disabled={query.statement === undefined}
              aria-label={`Open query ${query.queryId}`}
              onClick={() => onOpen(query)}
            >
              Open
            </button>
          </li>
        ))}
      </ol>
    </details>
  );
}
