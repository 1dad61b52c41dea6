/** EventBridge rules, targets, connections and API destinations: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./event-rule-store.js";
export * from "./sqlite-event-rule-store.js";
export * from "./postgres-event-rule-store.js";
export * from "./reseal-connection-secrets.js";
export * from "./event-rules-import.js";
