/** The Lake catalog: the contract (lake-catalog.ts), channels as it keeps them, the embedded SQLite backend and the cluster PostgreSQL one. */
export * from "./lake-catalog.js";
export * from "./channel.js";
export * from "./sqlite-lake-catalog.js";
export * from "./postgres-lake-catalog.js";
