/** Principals and their access keys: the contract (principal.ts) and the embedded SQLite backend. */
export * from "./principal.js";
export * from "./keys.js";
export * from "./principal-name.js";
export * from "./sqlite-principal-store.js";
export * from "./reseal-secrets.js";
