/** Leases for singleton jobs: the contract and the embedded (single-process) backend. */
export * from "./lease.js";
export * from "./local-lease-store.js";
