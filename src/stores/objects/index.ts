/** Object storage (trail buckets, Lake query results): the contract and its two backends. */
export * from "./object-store.js";
export * from "./names.js";
export * from "./filesystem-object-store.js";
export * from "./s3-object-store.js";
