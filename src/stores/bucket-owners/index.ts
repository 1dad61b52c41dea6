/** Bucket ownership: the contract and its embedded backend (SQLite). */
export * from "./bucket-owner-store.js";
export * from "./sqlite-bucket-owner-store.js";
export * from "./account-object-store.js";
