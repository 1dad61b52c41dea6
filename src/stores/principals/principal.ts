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

/** Durable principal storage. Shared between the server and the CLI (the CLI may add while the server runs). */
export interface PrincipalStore {
  findByAccessKeyId(accessKeyId: string): Principal | undefined;
  add(principal: Principal): void;
  list(): Principal[];
  close(): void;
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
