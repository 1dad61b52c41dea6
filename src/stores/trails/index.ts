/** Trail configurations and delivery status: the contract (trail.ts) and the embedded SQLite backend. */
export * from "./trail.js";
export * from "./sqlite-trail-store.js";
