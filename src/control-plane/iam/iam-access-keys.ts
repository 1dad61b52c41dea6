import { ApiError } from "../../lib/api-error.js";
import { generatePrincipal, type Principal } from "../../stores/principals/index.js";
import type { IamCall, IamDependencies, IamOperation } from "./iam-operation.js";
import { javaDefaultDateText } from "../../lib/java-date-text.js";
import { accessKeyId, iamTime, userArn, userNameOrCaller } from "./iam-input.js";
import { existingUser } from "./iam-users.js";

/** IAM's quota: two access keys per user. */
const ACCESS_KEYS_PER_USER = 2;

function keyResource(call: IamCall): string {
  const name = call.input["UserName"] ?? (call.principal.type === "IAMUser" ? call.principal.name : "");
  return userArn(call.accountId, "/", name);
}

async function keysOf(deps: IamDependencies, accountId: string, name: string): Promise<Principal[]> {
  return (await deps.principals.list({ accountId })).filter(
    (p) => p.type === "IAMUser" && p.name.toLowerCase() === name.toLowerCase(),
  );
}

function keyMetadata(key: Principal) {
  return { UserName: key.name, AccessKeyId: key.accessKeyId, Status: "Active", CreateDate: iamTime(key.createdAtMs) };
}

export function accessKeyOperations(deps: IamDependencies): Record<string, IamOperation> {
  return {
    CreateAccessKey: {
      readOnly: false,
      resource: keyResource,
      async run(call) {
        const user = await existingUser(deps, call.accountId, userNameOrCaller(call));
        if ((await keysOf(deps, call.accountId, user.userName)).length >= ACCESS_KEYS_PER_USER) {
          throw new ApiError("LimitExceeded", `Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`);
        }
        const key = generatePrincipal({
          name: user.userName,
          type: "IAMUser",
          accountId: user.accountId,
          createdAtMs: call.nowMs,
          principalId: user.userId,
        });
        await deps.principals.add(key);
        const metadata = keyMetadata(key);
        return {
          result: { AccessKey: { ...metadata, SecretAccessKey: key.secretAccessKey } },
          // CloudTrail logs the new key without its secret.
          responseElements: {
            accessKey: {
              userName: metadata.UserName,
              accessKeyId: metadata.AccessKeyId,
              status: "Active",
              createDate: javaDefaultDateText(call.nowMs),
            },
          },
        };
      },
    },
    DeleteAccessKey: {
      readOnly: false,
      resource: keyResource,
      async run(call) {
        const id = accessKeyId(call);
        const user = await existingUser(deps, call.accountId, userNameOrCaller(call));
        const key = (await keysOf(deps, call.accountId, user.userName)).find((k) => k.accessKeyId === id);
        if (key === undefined) throw new ApiError("NoSuchEntity", `The Access Key with id ${id} cannot be found.`);
        await deps.principals.remove(key.accessKeyId);
        return { result: null, responseElements: null };
      },
    },
    ListAccessKeys: {
      readOnly: true,
      resource: keyResource,
      async run(call) {
        const user = await existingUser(deps, call.accountId, userNameOrCaller(call));
        const keys = await keysOf(deps, call.accountId, user.userName);
        return { result: { AccessKeyMetadata: keys.map(keyMetadata), IsTruncated: false }, responseElements: null };
      },
    },
  };
}
