import { createHash } from "node:crypto";
import { InvalidNextTokenError, type LookupQuery } from "./event-history.js";

/**
 * LookupEvents pagination tokens: base64url of `1.<eventTime seconds>.<seq>.<fingerprint>`. The
 * position is exclusive (the next page starts strictly after it in newest-first order); the
 * fingerprint binds the token to the parameters it was issued for (spec §4.1: a token reused with
 * other parameters is InvalidNextTokenException).
 */
export interface TokenPosition {
  readonly time: number;
  readonly seq: number;
}

const TOKEN_PATTERN = /^1\.(\d{1,12})\.(\d{1,16})\.([A-Za-z0-9_-]{16})$/;

/** A digest of every parameter except MaxResults and NextToken (a client may change the page size between pages). */
export function queryFingerprint(query: LookupQuery): string {
  const attributes = query.attributes.map((attribute) => [attribute.key, attribute.value]).sort();
  const canonical = JSON.stringify([
    query.accountId,
    query.region,
    query.eventCategory ?? "",
    query.startTimeDefaulted === true ? "default" : Math.ceil(query.startTimeMs / 1000),
    query.endTimeDefaulted === true ? "default" : Math.floor(query.endTimeMs / 1000),
    attributes,
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodeNextToken(position: TokenPosition, fingerprint: string): string {
  return Buffer.from(`1.${position.time}.${position.seq}.${fingerprint}`, "utf8").toString("base64url");
}

/** The position a token points at; throws InvalidNextTokenError when it is malformed or was issued for other parameters. */
export function decodeNextToken(token: string, fingerprint: string): TokenPosition {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) throw new InvalidNextTokenError("The next token is malformed.");
  const match = TOKEN_PATTERN.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (match === null) throw new InvalidNextTokenError("The next token is malformed.");
  if (match[3] !== fingerprint) {
    throw new InvalidNextTokenError("The next token was issued for different request parameters.");
  }
  const time = Number(match[1]);
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(time) || !Number.isSafeInteger(seq)) {
    throw new InvalidNextTokenError("The next token is malformed.");
  }
  return { time, seq };
}
