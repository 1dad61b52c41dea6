import { ApiError } from "../lib/api-error.js";
import type { SigningKeyStore } from "../stores/signing-keys/index.js";
import { optionalString, optionalTimestampMs } from "./input.js";
import type { OperationContext, OperationHandler } from "./operation.js";

export interface ListPublicKeysOptions {
  /** The store digests are signed with (the same instance trail delivery uses). */
  readonly keys: SigningKeyStore;
}

/**
 * ListPublicKeys (spec §3.4, §5.4): the signing keys of the caller's region whose validity overlaps
 * [StartTime, EndTime] (both default to now, which returns the current key). `Value` is the base64 of
 * the PKCS#1 DER RSAPublicKey — the only form the AWS CLI's validator loads — and `Fingerprint` its MD5.
 */
export function createListPublicKeysOperation(options: ListPublicKeysOptions): OperationHandler {
  return async function listPublicKeys(input: Record<string, unknown>, context: OperationContext) {
    const startMs = optionalTimestampMs(input, "StartTime", "InvalidTimeRangeException") ?? context.nowMs;
    const endMs = optionalTimestampMs(input, "EndTime", "InvalidTimeRangeException") ?? context.nowMs;
    if (startMs > endMs) {
      throw new ApiError("InvalidTimeRangeException", "Start time must be before or equal to end time.");
    }
    // "Reserved for future use": every answer is one page, so no token was ever issued.
    if (optionalString(input, "NextToken") !== undefined) {
      throw new ApiError("InvalidTokenException", "The NextToken is not valid; ListPublicKeys returns a single page.");
    }
    // A range that includes now must find the current key, even before the first digest was signed.
    // A key made by this very call starts on the store's clock, a moment after the call's own `now`:
    // it is listed all the same.
    const current =
      startMs <= context.nowMs && context.nowMs <= endMs ? await options.keys.signingKey(context.region) : undefined;
    const keys = await options.keys.publicKeys(context.region, startMs, endMs);
    if (current !== undefined && !keys.some((key) => key.fingerprint === current.fingerprint)) keys.push(current);
    return {
      output: {
        PublicKeyList: keys.map((key) => ({
          Value: key.publicKeyDer.toString("base64"),
          ValidityStartTime: key.validityStartMs / 1000,
          ValidityEndTime: key.validityEndMs / 1000,
          Fingerprint: key.fingerprint,
        })),
      },
    };
  };
}
