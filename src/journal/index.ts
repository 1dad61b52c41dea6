/**
 * The journal's contract (journal.ts) and its embedded backend. Code outside src/journal/ imports
 * only this file: a second backend (NATS JetStream) implements the same Journal and SliceReader.
 */
export * from "./journal.js";
export { openFileJournal } from "./file-journal.js";
export { SliceReader } from "./slice-reader.js";
// The journal's record compression, which the PostgreSQL Event history reuses for the records it keeps.
export { blockDictionary, DICTIONARY_CLOUDTRAIL_1 } from "./block-dictionary.js";
export { compressPayloads } from "./block-codec.js";
