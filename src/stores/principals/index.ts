/** Principals and their access keys: the contract (principal.ts), the embedded SQLite backend and the cluster backend (PostgreSQL). */
export * from "./principal.js";
export * from "./keys.js";
export * from "./principal-name.js";
export * from "./sqlite-principal-store.js";
export * from "./postgres-principal-store.js";
export * from "./reseal-secrets.js";
