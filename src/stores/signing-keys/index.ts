/** The digest signing keys (RSA key pairs per region): the contract with its files backend, and the cluster backend (PostgreSQL). */
export * from "./signing-keys.js";
export * from "./postgres-signing-key-store.js";
