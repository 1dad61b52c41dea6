/** Consumer cursors kept outside a consumer's own transactional store. */
export * from "./file-cursor-store.js";
