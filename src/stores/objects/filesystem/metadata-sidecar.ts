import { readFile } from "node:fs/promises";
import { errorCode } from "../../../lib/durable-file.js";

/**
 * What the embedded store keeps beside each object body. The sidecar is written *before* the body,
 * so a crash between the two leaves either no object (a new key) or a sidecar that no longer
 * describes the body (an overwrite); `etag` and `sizeBytes` let readers detect the latter.
 */
export interface MetadataSidecar {
  readonly version: 1;
  readonly etag: string;
  readonly sizeBytes: number;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata: Record<string, string>;
}

export function encodeSidecar(sidecar: MetadataSidecar): Buffer {
  return Buffer.from(JSON.stringify(sidecar), "utf8");
}

/** The sidecar at `path`, or `undefined` when it is missing or unreadable (then the body stands alone). */
export async function readSidecar(path: string): Promise<MetadataSidecar | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isSidecar(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isSidecar(value: unknown): value is MetadataSidecar {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    record["version"] === 1 &&
    typeof record["etag"] === "string" &&
    typeof record["sizeBytes"] === "number" &&
    typeof record["metadata"] === "object" &&
    record["metadata"] !== null
  );
}
