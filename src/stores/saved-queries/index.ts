/** Saved Lake queries: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./saved-query-store.js";
export * from "./sqlite-saved-query-store.js";
export * from "./postgres-saved-query-store.js";
export * from "./saved-queries-import.js";
