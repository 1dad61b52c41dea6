/** Bucket ownership: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./bucket-owner-store.js";
export * from "./sqlite-bucket-owner-store.js";
export * from "./postgres-bucket-owner-store.js";
export * from "./account-object-store.js";
