/**
 * Lake queries a user saved to run again (docs/reference/lake.md, "Saved queries"; a Cairn
 * extension). A saved query belongs to one user of one account: its owner is the caller's ARN, and
 * every read and write names the account and the owner, so no caller sees another's. A name is
 * unique per owner; saving a name again replaces the statement and keeps the creation time.
 * test/contract/saved-query-store.suite.ts is the contract, run per backend.
 */
export interface SavedQuery {
  readonly accountId: string;
  /** The ARN of the user (or role session) who saved it. */
  readonly owner: string;
  readonly name: string;
  readonly statement: string;
  readonly description?: string;
  readonly createdMs: number;
  readonly updatedMs: number;
}

export interface SavedQueryPage {
  /** In name order (bytes of UTF-8). */
  readonly queries: SavedQuery[];
  /** The name to list after for the next page; absent on the last. */
  readonly nextAfter?: string;
}

export interface SavedQueryStore {
  /**
   * Saves `query` under its owner and name, replacing a saved query of that name (whose creation
   * time it keeps), durably once resolved. Refuses a new name once the owner holds `limit` queries:
   * resolves `{ saved: undefined }` then. Resolves the query as stored.
   */
  put(query: SavedQuery, limit: number): Promise<{ saved: SavedQuery | undefined; created: boolean }>;
  /** The owner's queries after `after` (exclusive), at most `max`. */
  list(accountId: string, owner: string, options: { max: number; after?: string }): Promise<SavedQueryPage>;
  /** Removes the owner's query of that name; resolves whether there was one. */
  delete(accountId: string, owner: string, name: string): Promise<boolean>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

/** Row columns, in the order the SQLite and PostgreSQL tables and the migration copy use. */
export const SAVED_QUERY_COLUMNS = [
  "account_id",
  "owner",
  "name",
  "statement",
  "description",
  "created_ms",
  "updated_ms",
] as const;

export interface SavedQueryRow {
  readonly account_id: string;
  readonly owner: string;
  readonly name: string;
  readonly statement: string;
  readonly description: string | null;
  readonly created_ms: number | string;
  readonly updated_ms: number | string;
}

export function savedQueryOf(row: SavedQueryRow): SavedQuery {
  return {
    accountId: row.account_id,
    owner: row.owner,
    name: row.name,
    statement: row.statement,
    ...(row.description !== null ? { description: row.description } : {}),
    createdMs: Number(row.created_ms),
    updatedMs: Number(row.updated_ms),
  };
}

/** The page of `rows` fetched with one row more than `max`: that row says whether another page follows. */
export function pageOf(rows: readonly SavedQueryRow[], max: number): SavedQueryPage {
  const queries = rows.slice(0, max).map(savedQueryOf);
  return rows.length > max ? { queries, nextAfter: queries.at(-1)!.name } : { queries };
}
