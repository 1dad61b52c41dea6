import { useCallback, useEffect, useState } from "react";
import type { EventDataStore } from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { listAllStores } from "../api/lake-query.js";
import { ErrorBanner } from "./status.js";

export interface EventDataStoreList {
  /** Undefined until the first list has arrived. */
  readonly stores: EventDataStore[] | undefined;
  readonly loading: boolean;
  readonly error: string | undefined;
  /** Lists again; resolves to the new list (undefined when listing failed). */
  readonly reload: () => Promise<EventDataStore[] | undefined>;
}

/**
 * The account's event data stores, listed once when the page opens: the Lake and Dashboard pages
 * share this load, its error and its retry, so both behave alike when listing fails.
 */
export function useEventDataStores(): EventDataStoreList {
  const { client } = useSession();
  const [stores, setStores] = useState<EventDataStore[] | undefined>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | undefined>();
  const reload = useCallback(async (): Promise<EventDataStore[] | undefined> => {
    setLoading(true);
    setError(undefined);
    try {
      const all = await listAllStores(client);
      setStores(all);
      return all;
    } catch (problem) {
      setError(describeError(problem).message);
      return undefined;
    } finally {
      setLoading(false);
    }
  }, [client]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { stores, loading, error, reload };
}

/** The shared "could not list" banner, with its Retry button. */
export function StoresError({ list }: { list: EventDataStoreList }) {
  if (list.error === undefined) return null;
  return (
    <ErrorBanner
      title="Could not list event data stores"
      message={list.error}
      action={
        <button type="button" onClick={() => void list.reload()}>
          Retry
        </button>
      }
    />
  );
}

/** The store a page starts with: an enabled one, else any not being deleted. */
export function preferredStore(stores: readonly EventDataStore[]): EventDataStore | undefined {
  return (
    stores.find((store) => store.Status === "ENABLED") ?? stores.find((store) => store.Status !== "PENDING_DELETION")
  );
}
