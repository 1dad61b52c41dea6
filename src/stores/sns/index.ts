/** SNS topics and subscriptions: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./sns-store.js";
export * from "./sqlite-sns-store.js";
export * from "./postgres-sns-store.js";
export * from "./sns-import.js";
