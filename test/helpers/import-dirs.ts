import { delimiter } from "node:path";

/**
 * The server environment that lets StartImport read file:// sources under `directories`: without
 * CAIRN_IMPORT_ALLOWED_DIRS a server refuses every file:// source (docs/reference/security.md).
 */
export function allowImportsFrom(...directories: string[]): Record<string, string> {
  return { CAIRN_IMPORT_ALLOWED_DIRS: directories.join(delimiter) };
}
