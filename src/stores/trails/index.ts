/**
 * Trail configurations and delivery status (trail.ts), and per-trail delivery state with its digest
 * chains (delivery-state.ts): the contracts, their embedded backends (SQLite, one file per trail) and
 * their cluster backends (PostgreSQL).
 */
export * from "./trail.js";
export * from "./sqlite-trail-store.js";
export * from "./postgres-trail-store.js";
export * from "./delivery-state.js";
export * from "./file-delivery-state-store.js";
export * from "./postgres-delivery-state-store.js";
