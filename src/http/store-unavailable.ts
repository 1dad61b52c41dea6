import { ApiError } from "../lib/api-error.js";
import { StoreUnavailableError } from "../lib/transient-error.js";

/** Names no store and no address: the caller learns only that a retry may succeed. */
const MESSAGE = "A store Cairn depends on cannot be reached right now. Retry later.";

/**
 * The answer to a failure whose cause is a store that cannot be reached now (a database down or
 * restarting): 503 ServiceUnavailableException with Retry-After, as for a journal that cannot write.
 * Undefined for any other failure.
 */
export function storeUnavailableAnswer(error: unknown): ApiError | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    if (current instanceof StoreUnavailableError)
      return new ApiError("ServiceUnavailableException", MESSAGE, { "retry-after": "1" });
    current = current.cause;
  }
  return undefined;
}
