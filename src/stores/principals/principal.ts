import type { IngestProvenance, IngestSource } from "../../model/provenance.js";
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

/** An IAM user of one account: it exists with or without access keys (CreateUser, then CreateAccessKey). */
export interface IamUser {
  readonly accountId: string;
  readonly userName: string;
  /** AIDA…; the principalId of every access key of the user. */
  readonly userId: string;
  readonly path: string;
  readonly createdAtMs: number;
}

/** What identity-based policies are attached to: a user, or the role whose sessions sign as AssumedRole. */
export interface PolicyHolder {
  readonly accountId: string;
  readonly kind: "user" | "role";
  readonly name: string;
}

/** A holder's policies: inline documents by name, and the ARNs of the managed policies attached. */
export interface HolderPolicies {
  readonly inline: ReadonlyArray<{ readonly name: string; readonly document: string }>;
  readonly managedArns: readonly string[];
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
  /**
   * Stores a user without keys. Rejects with PrincipalExistsError when the account has a user of that
   * name, compared without case (IAM's rule: "ADMIN" and "admin" cannot both exist).
   */
  createUser(user: IamUser): Promise<void>;
  /** The account's user of that name (case-insensitive), or undefined. */
  findUser(accountId: string, userName: string): Promise<IamUser | undefined>;
  /** The account's users, by name. */
  listUsers(accountId: string): Promise<IamUser[]>;
  /** Deletes the user entry (not its keys or policies: the API refuses while those remain); resolves whether one did. */
  deleteUser(accountId: string, userName: string): Promise<boolean>;
  /** Adds or replaces the holder's inline policy `name`. */
  putInlinePolicy(holder: PolicyHolder, name: string, document: string): Promise<void>;
  /** Resolves whether the holder had an inline policy of that name. */
  deleteInlinePolicy(holder: PolicyHolder, name: string): Promise<boolean>;
  /** Attaches a managed policy by ARN; attaching it again changes nothing. */
  attachManagedPolicy(holder: PolicyHolder, arn: string): Promise<void>;
  /** Resolves whether the policy was attached. */
  detachManagedPolicy(holder: PolicyHolder, arn: string): Promise<boolean>;
  /** Every policy of the holder: inline ones by name, managed ARNs in attachment order. */
  policiesOf(holder: PolicyHolder): Promise<HolderPolicies>;
  /** Releases the store's resources; closing again does nothing. */
  close(): Promise<void>;
}

export class PrincipalExistsError extends Error {
  override readonly name = "PrincipalExistsError";
}

/** The policy holder a principal's calls are authorised against; none for root, which policies do not bind. */
export function policyHolderOf(principal: Principal): PolicyHolder | undefined {
  if (principal.type === "Root") return undefined;
  const kind = principal.type === "IAMUser" ? "user" : "role";
  const slash = principal.name.indexOf("/");
  const name = kind === "role" && slash >= 0 ? principal.name.slice(0, slash) : principal.name;
  return { accountId: principal.accountId, kind, name };
}

/** The `userIdentity` block CloudTrail writes for this principal (spec §1.4.2). */
/**
 * Who ingested a record when this principal's verified call put it in: the ARN CloudTrail would
 * name it by and the access key it signed with (the journal envelope, src/model/provenance.ts).
 */
export function ingestedBy(
  principal: Principal,
  source: IngestSource,
  where: Pick<IngestProvenance, "channelArn" | "importId"> = {},
): IngestProvenance {
  return { source, principalArn: userIdentityOf(principal).arn!, accessKeyId: principal.accessKeyId, ...where };
}

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

/** The IAM entities part of a PrincipalStore (users and their policies), which each backend builds apart. */
export type IamEntityMethods = Pick<
  PrincipalStore,
  | "createUser"
  | "findUser"
  | "listUsers"
  | "deleteUser"
  | "putInlinePolicy"
  | "deleteInlinePolicy"
  | "attachManagedPolicy"
  | "detachManagedPolicy"
  | "policiesOf"
>;
