/** The digest signing keys (RSA key pairs per region and account). */
export * from "./signing-keys.js";
