import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { deleteSavedQuery, listSavedQueries, putSavedQuery, type SavedQuery } from "../api/saved-queries.js";
import { ErrorBanner } from "../components/status.js";

/**
 * The signed-in user's saved queries, kept on the server (PutSavedQuery…): save the editor's
 * statement under a name, open one into the editor, delete one.
 */
export function SavedQueries({ sql, onOpen }: { sql: string; onOpen: (statement: string) => void }) {
  const { session } = useSession();
  const [saved, setSaved] = useState<SavedQuery[] | undefined>();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const reload = useCallback(async () => {
    try {
      setSaved(await listSavedQueries(session));
    } catch (problem) {
      setError(describeError(problem).message);
    }
  }, [session]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const act = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      await reload();
    } catch (problem) {
      setError(describeError(problem).message);
    } finally {
      setBusy(false);
    }
  };

  const save = (event: FormEvent): void => {
    event.preventDefault();
    void act(async () => void (await putSavedQuery(session, name.trim(), sql)));
  };

  return (
    <div className="saved-queries">
      <form className="saved-query-form" onSubmit={save} aria-label="Save query">
        <label>
          Save as
          <input
            name="saved-query-name"
            value={name}
            maxLength={128}
            placeholder="my-query"
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <button type="submit" disabled={busy || name.trim() === "" || sql.trim() === ""}>
          Save query
        </button>
      </form>
      {error && <ErrorBanner title="Saved queries" message={error} />}
      <div role="group" aria-labelledby="saved-queries-label" className="saved-query-list">
        <span id="saved-queries-label" className="group-label">
          Saved queries
        </span>
        {saved !== undefined && saved.length === 0 && <span className="muted">None yet.</span>}
        <ul>
          {(saved ?? []).map((query) => (
            <li key={query.Name}>
              <button
                type="button"
                className="chip"
                title={query.QueryStatement}
                aria-label={`Open saved query ${query.Name}`}
                onClick={() => onOpen(query.QueryStatement)}
              >
                {query.Name}
              </button>
              <button
                type="button"
                className="danger small"
                disabled={busy}
                aria-label={`Delete saved query ${query.Name}`}
                onClick={() => void act(() => deleteSavedQuery(session, query.Name))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
