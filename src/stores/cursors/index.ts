/** Consumer cursors kept outside a consumer's own transactional store: the contract and its file backend. */
export * from "./cursor-store.js";
export * from "./file-cursor-store.js";
