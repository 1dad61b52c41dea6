/** Leases for singleton jobs: the contract, the embedded (single-process) backend and the cluster one (PostgreSQL), and the keeper that renews a node's leases. */
export * from "./lease.js";
export * from "./lease-keeper.js";
export * from "./local-lease-store.js";
export * from "./postgres-lease-store.js";
