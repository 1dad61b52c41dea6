import { errorCode } from "./error-code.js";

/**
 * Whether an error says a dependency is unwell (disk, network, a busy database, an endpoint that
 * times out) rather than that one record cannot be stored. A consumer never quarantines a record
 * on such an error: it retries the batch until the dependency is back (docs/reference/security.md,
 * "Quarantine"). The list errs towards "transient": a record wrongly retried only delays its
 * consumer, a record wrongly quarantined is missing from a store.
 */
export function isTransientError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (isTransientItself(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Node.js system errors of files, sockets and name resolution. */
const SYSTEM_CODES: ReadonlySet<string> = new Set([
  "ENOSPC",
  "EDQUOT",
  "EIO",
  "EROFS",
  "EACCES",
  "EPERM",
  "EMFILE",
  "ENFILE",
  "ENOMEM",
  "EBUSY",
  "EAGAIN",
  "ENOENT",
  "ENOTDIR",
  "ESTALE",
  "ETIMEDOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** SQLite result codes (better-sqlite3 `code`, extended codes start with these) of an unwell database file. */
const SQLITE_PREFIXES = [
  "SQLITE_FULL",
  "SQLITE_IOERR",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_READONLY",
  "SQLITE_CANTOPEN",
  "SQLITE_NOMEM",
  "SQLITE_PROTOCOL",
  "SQLITE_INTERRUPT",
];

/** DuckDB's error classes (the message's first words) that are about the machine, not the data. */
const DUCKDB_PREFIXES = ["IO Error", "Out of Memory Error", "Permission Error", "Interrupt Error", "Connection Error"];

const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  "JournalUnavailableError",
  "TimeoutError",
  "AbortError",
  "RequestTimeout",
  "TransientError",
  "StoreUnavailableError",
]);

function isTransientItself(error: unknown): boolean {
  if (typeof error !== "object") return false;
  const code = errorCode(error);
  if (code !== undefined && (SYSTEM_CODES.has(code) || SQLITE_PREFIXES.some((prefix) => code.startsWith(prefix))))
    return true;
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (typeof name === "string" && TRANSIENT_NAMES.has(name)) return true;
  if (typeof message === "string" && DUCKDB_PREFIXES.some((prefix) => message.startsWith(prefix))) return true;
  // AWS SDK v3: throttling, 5xx and network failures are marked retryable.
  const sdk = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (sdk.$retryable !== undefined && sdk.$retryable !== null) return true;
  const status = sdk.$metadata?.httpStatusCode;
  return typeof status === "number" && (status >= 500 || status === 429);
}

/** A failure a consumer knows to be about a dependency (a store that is down, a bound on waiting work). */
export class TransientError extends Error {
  override readonly name = "TransientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A store's backend cannot be reached or cannot answer now (a database that is down, restarting or
 * out of connections). Nothing was done that the caller must undo; the same call may succeed later,
 * so HTTP answers it 503 with Retry-After and a consumer retries from its committed cursor.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
