/** Quarantined records: the contract (quarantine.ts) and the embedded SQLite backend. */
export * from "./quarantine.js";
export * from "./sqlite-quarantine-store.js";
