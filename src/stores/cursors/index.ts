/** Consumer cursors kept outside a consumer's own transactional store: the contract, its file backend and its cluster backend (PostgreSQL). */
export * from "./cursor-store.js";
export * from "./file-cursor-store.js";
export * from "./postgres-cursor-store.js";
