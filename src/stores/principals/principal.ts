import type { UserIdentity } from "../../model/record.js";

export type PrincipalType = "Root" | "IAMUser" | "AssumedRole";

/** A caller known to Cairn: who signs requests with `accessKeyId`, and how CloudTrail names them. */
export interface Principal {
  readonly name: string;
  readonly type: PrincipalType;
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Stable unique id: AIDA… for users, AROA… role id for assumed roles, the account id for root. */
  readonly principalId: string;
  readonly createdAtMs: number;
}

/** Which principals `list` returns; every one when empty. */
export interface PrincipalFilter {
  readonly accountId?: string;
}

/**
 * Durable principal storage, keyed by access key id. Several instances may be open on the same data
 * at once (the CLI adds while the server runs): every call reads the current data, so what one
 * instance adds or removes is seen by the next call of any other, without a restart.
 * Methods reject (never throw) on failure, and every method but `close` rejects once closed.
 */
export interface PrincipalStore {
  /** The principal holding this key, or undefined. */
  findByAccessKeyId(accessKeyId: string): Promise<Principal | undefined>;
  /**
   * The principals holding any of these keys, in one round trip (the proxy resolves a batch of calls
   * at once). Unknown keys are left out of the map; repeated keys are fine.
   */
  findByAccessKeyIds(accessKeyIds: readonly string[]): Promise<Map<string, Principal>>;
  /** Stores a principal, durably once resolved. Rejects with PrincipalExistsError when its key is taken. */
  add(principal: Principal): Promise<void>;
  /** Oldest first (by createdAtMs, then access key id). */
  list(filter?: PrincipalFilter): Promise<Principal[]>;
  /** Deletes the principal holding this key (the bootstrap admin's replaced key); resolves whether one did. */
  remove(accessKeyId: string): Promise<boolean>;
  /** Releases the store's resources; closing again does nothing. */
  close(): Promise<void>;
}

export class PrincipalExistsError extends Error {
  override readonly name = "PrincipalExistsError";
}

/** The `userIdentity` block CloudTrail writes for this principal (spec §1.4.2). */
export function userIdentityOf(principal: Principal): UserIdentity {
  const { accountId, accessKeyId } = principal;
  switch (principal.type) {
    case "Root":
      return { type: "Root", principalId: accountId, arn: `arn:aws:iam::${accountId}:root`, accountId, accessKeyId };
    case "IAMUser":
      return {
        type: "IAMUser",
        principalId: principal.principalId,
        arn: `arn:aws:iam::${accountId}:user/${principal.name}`,
        accountId,
        accessKeyId,
        userName: principal.name,
      };
    case "AssumedRole": {
      // `name` is "<role>/<session>"; a bare name is both role and session.
      const [role, session] = principal.name.includes("/")
        ? [principal.name.slice(0, principal.name.indexOf("/")), principal.name.slice(principal.name.indexOf("/") + 1)]
        : [principal.name, principal.name];
      return {
        type: "AssumedRole",
        principalId: `${principal.principalId}:${session}`,
        arn: `arn:aws:sts::${accountId}:assumed-role/${role}/${session}`,
        accountId,
        accessKeyId,
        sessionContext: {
          sessionIssuer: {
            type: "Role",
            principalId: principal.principalId,
            arn: `arn:aws:iam::${accountId}:role/${role}`,
            accountId,
            userName: role,
          },
          webIdFederationData: {},
          attributes: {
            creationDate: new Date(principal.createdAtMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
            mfaAuthenticated: "false",
          },
        },
      };
    }
  }
}
