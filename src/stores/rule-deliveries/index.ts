/** What the EventBridge rule consumer owes its targets: the contract, its SQLite and PostgreSQL backends. */
export * from "./rule-delivery-store.js";
export * from "./sqlite-rule-delivery-store.js";
export * from "./postgres-rule-delivery-store.js";
export * from "./rule-deliveries-import.js";
