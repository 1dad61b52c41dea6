import { randomInt } from "node:crypto";
import type { Principal, PrincipalType } from "./principal.js";

const UPPER_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** AWS access keys: long-term (users, root) start AKIA; temporary (role sessions) start ASIA. */
const ACCESS_KEY_PREFIX: Record<PrincipalType, string> = { Root: "AKIA", IAMUser: "AKIA", AssumedRole: "ASIA" };

/** 16 characters after the 4-character prefix: the 20-character length AWS keys have. */
const ACCESS_KEY_SUFFIX_LENGTH = 16;
const SECRET_ACCESS_KEY_LENGTH = 40;
/** IAM unique ids (AIDA…, AROA…) are 21 characters. */
const UNIQUE_ID_SUFFIX_LENGTH = 17;

/** `randomInt` draws without modulo bias, which matters for secrets. */
function randomString(alphabet: string, length: number): string {
  let text = "";
  for (let index = 0; index < length; index += 1) text += alphabet.charAt(randomInt(alphabet.length));
  return text;
}

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * A fresh random access key shaped like AWS's: `AKIA…`/`ASIA…` + 16 upper-case alphanumerics, and a
 * 40-character secret.
 *
 * @example
 * generateAccessKey("IAMUser"); // { accessKeyId: "AKIA7Q…", secretAccessKey: "n9+…" }
 */
export function generateAccessKey(type: PrincipalType): AccessKey {
  return {
    accessKeyId: ACCESS_KEY_PREFIX[type] + randomString(UPPER_ALPHANUMERIC, ACCESS_KEY_SUFFIX_LENGTH),
    secretAccessKey: randomString(SECRET_ALPHABET, SECRET_ACCESS_KEY_LENGTH),
  };
}

/** The principal id CloudTrail shows: the account id for root, `AIDA…` for users, `AROA…` for roles. */
function generatePrincipalId(type: PrincipalType, accountId: string): string {
  switch (type) {
    case "Root":
      return accountId;
    case "IAMUser":
      return "AIDA" + randomString(UPPER_ALPHANUMERIC, UNIQUE_ID_SUFFIX_LENGTH);
    case "AssumedRole":
      return "AROA" + randomString(UPPER_ALPHANUMERIC, UNIQUE_ID_SUFFIX_LENGTH);
  }
}

export interface GeneratePrincipalInput {
  readonly name: string;
  readonly type: PrincipalType;
  readonly accountId: string;
  readonly createdAtMs: number;
  /** Both or neither; generated when absent. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /**
   * Reuse an existing id: a second key for the same IAM user, or a second session of the same role,
   * keeps the user's AIDA… / the role's AROA… id, as in AWS.
   */
  readonly principalId?: string;
}

/** Builds a principal, generating whatever keys and ids the input leaves out. */
export function generatePrincipal(input: GeneratePrincipalInput): Principal {
  const key =
    input.accessKeyId !== undefined && input.secretAccessKey !== undefined
      ? { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey }
      : generateAccessKey(input.type);
  return {
    name: input.name,
    type: input.type,
    accountId: input.accountId,
    accessKeyId: key.accessKeyId,
    secretAccessKey: key.secretAccessKey,
    principalId:
      input.type === "Root" ? input.accountId : (input.principalId ?? generatePrincipalId(input.type, input.accountId)),
    createdAtMs: input.createdAtMs,
  };
}

/**
 * What a sealed secret access key is bound to (every backend): the access key id, so a sealed value
 * moved onto another row does not open.
 */
export function secretAssociatedData(accessKeyId: string): string {
  return `cairn principal secret ${accessKeyId}`;
}
