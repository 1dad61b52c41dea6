/** Leases for singleton jobs: the contract, the embedded (single-process) backend and the cluster one (PostgreSQL). */
export * from "./lease.js";
export * from "./local-lease-store.js";
export * from "./postgres-lease-store.js";
