/**
 * The journal's contract (journal.ts) and its embedded backend. Code outside src/journal/ imports
 * only this file: a second backend (NATS JetStream) implements the same Journal and SliceReader.
 */
export * from "./journal.js";
export { openFileJournal } from "./file-journal.js";
export { SliceReader } from "./slice-reader.js";
