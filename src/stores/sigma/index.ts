/** Live Sigma rules and their matches: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./sigma-store.js";
export * from "./sqlite-sigma-store.js";
export * from "./postgres-sigma-store.js";
export * from "./sigma-import.js";
