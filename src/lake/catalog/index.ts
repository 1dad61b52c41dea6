/** The Lake catalog: the contract (lake-catalog.ts), channels as it keeps them, and the embedded SQLite backend. */
export * from "./lake-catalog.js";
export * from "./channel.js";
export * from "./sqlite-lake-catalog.js";
