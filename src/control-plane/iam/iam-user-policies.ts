import { ApiError } from "../../lib/api-error.js";
import type { PolicyHolder } from "../../stores/principals/index.js";
import type { IamCall, IamDependencies, IamOperation } from "./iam-operation.js";
import { policyArn, policyName, required, userArn, userName } from "./iam-input.js";
import { existingUser } from "./iam-users.js";

/** IAM's quota: 10 managed policies attached to a user. */
const MANAGED_POLICIES_PER_USER = 10;

function resource(call: IamCall): string {
  return userArn(call.accountId, "/", call.input["UserName"] ?? "");
}

async function holderOf(deps: IamDependencies, call: IamCall): Promise<PolicyHolder> {
  const user = await existingUser(deps, call.accountId, userName(call));
  return { accountId: user.accountId, kind: "user", name: user.userName };
}

async function checkInlineQuota(
  deps: IamDependencies,
  holder: PolicyHolder,
  name: string,
  document: string,
): Promise<void> {
  const others = (await deps.principals.policiesOf(holder)).inline.filter((policy) => policy.name !== name);
  deps.checkInlineUserPolicies(holder.name, [...others.map((policy) => policy.document), document]);
}

/** The policy's name: the ARN's last path segment. */
function nameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

function inlineOperations(deps: IamDependencies): Record<string, IamOperation> {
  return {
    PutUserPolicy: {
      readOnly: false,
      resource,
      async run(call) {
        const holder = await holderOf(deps, call);
        const name = policyName(call);
        const document = required(call, "PolicyDocument");
        deps.checkPolicyDocument(document, holder.name);
        await checkInlineQuota(deps, holder, name, document);
        await deps.principals.putInlinePolicy(holder, name, document);
        return { result: null, responseElements: null };
      },
    },
    GetUserPolicy: {
      readOnly: true,
      resource,
      async run(call) {
        const holder = await holderOf(deps, call);
        const name = policyName(call);
        const policy = (await deps.principals.policiesOf(holder)).inline.find((p) => p.name === name);
        if (policy === undefined)
          throw new ApiError("NoSuchEntity", `The user policy with name ${name} cannot be found.`);
        // IAM answers the document URL-encoded (RFC 3986); the SDKs and the CLI decode it.
        const result = { UserName: holder.name, PolicyName: name, PolicyDocument: encodeURIComponent(policy.document) };
        return { result, responseElements: null };
      },
    },
    DeleteUserPolicy: {
      readOnly: false,
      resource,
      async run(call) {
        const holder = await holderOf(deps, call);
        const name = policyName(call);
        if (!(await deps.principals.deleteInlinePolicy(holder, name))) {
          throw new ApiError("NoSuchEntity", `The user policy with name ${name} cannot be found.`);
        }
        return { result: null, responseElements: null };
      },
    },
    ListUserPolicies: {
      readOnly: true,
      resource,
      async run(call) {
        const policies = await deps.principals.policiesOf(await holderOf(deps, call));
        return {
          result: { PolicyNames: policies.inline.map((p) => p.name), IsTruncated: false },
          responseElements: null,
        };
      },
    },
  };
}

function managedOperations(deps: IamDependencies): Record<string, IamOperation> {
  return {
    AttachUserPolicy: {
      readOnly: false,
      resource,
      async run(call) {
        const holder = await holderOf(deps, call);
        const arn = policyArn(call);
        if (deps.managedPolicy(arn) === undefined) {
          throw new ApiError("NoSuchEntity", `Policy ${arn} does not exist or is not attachable.`);
        }
        const attached = (await deps.principals.policiesOf(holder)).managedArns;
        if (!attached.includes(arn) && attached.length >= MANAGED_POLICIES_PER_USER) {
          throw new ApiError("LimitExceeded", `Cannot exceed quota for PoliciesPerUser: ${MANAGED_POLICIES_PER_USER}`);
        }
        await deps.principals.attachManagedPolicy(holder, arn);
        return { result: null, responseElements: null };
      },
    },
    DetachUserPolicy: {
      readOnly: false,
      resource,
      async run(call) {
        const holder = await holderOf(deps, call);
        const arn = policyArn(call);
        if (!(await deps.principals.detachManagedPolicy(holder, arn))) {
          throw new ApiError("NoSuchEntity", `Policy ${arn} was not found.`);
        }
        return { result: null, responseElements: null };
      },
    },
    ListAttachedUserPolicies: {
      readOnly: true,
      resource,
      async run(call) {
        const policies = await deps.principals.policiesOf(await holderOf(deps, call));
        const attached = policies.managedArns.map((arn) => ({ PolicyName: nameOfArn(arn), PolicyArn: arn }));
        return { result: { AttachedPolicies: attached, IsTruncated: false }, responseElements: null };
      },
    },
  };
}

export function userPolicyOperations(deps: IamDependencies): Record<string, IamOperation> {
  return { ...inlineOperations(deps), ...managedOperations(deps) };
}
