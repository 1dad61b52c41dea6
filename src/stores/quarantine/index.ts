/** Quarantined records: the contract (quarantine.ts), the embedded SQLite backend and the cluster backend (PostgreSQL). */
export * from "./quarantine.js";
export * from "./sqlite-quarantine-store.js";
export * from "./postgres-quarantine-store.js";
