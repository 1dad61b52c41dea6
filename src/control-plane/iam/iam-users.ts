import { randomInt } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import { javaDefaultDateText } from "../../lib/java-date-text.js";
import { toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { PrincipalExistsError, type IamUser } from "../../stores/principals/index.js";
import type { IamCall, IamDependencies, IamOperation, XmlValue } from "./iam-operation.js";
import { iamTime, paging, path, userArn, userName } from "./iam-input.js";

const UNIQUE_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** AIDA + 17 characters: the shape of IAM user ids. */
function newUserId(): string {
  let id = "AIDA";
  for (let i = 0; i < 17; i++) id += UNIQUE_ID_ALPHABET.charAt(randomInt(UNIQUE_ID_ALPHABET.length));
  return id;
}

function userXml(user: IamUser): { [name: string]: XmlValue } {
  return {
    Path: user.path,
    UserName: user.userName,
    UserId: user.userId,
    Arn: userArn(user.accountId, user.path, user.userName),
    CreateDate: iamTime(user.createdAtMs),
  };
}

export async function existingUser(deps: IamDependencies, accountId: string, name: string): Promise<IamUser> {
  const user = await deps.principals.findUser(accountId, name);
  if (user === undefined) throw new ApiError("NoSuchEntity", `The user with name ${name} cannot be found.`);
  return user;
}

/** The resource of a call on one user: its ARN with the default path (IAM authorises before it looks the user up). */
function namedUserResource(call: IamCall): string {
  return userArn(call.accountId, "/", call.input["UserName"] ?? "");
}

export function userOperations(deps: IamDependencies): Record<string, IamOperation> {
  return {
    CreateUser: {
      readOnly: false,
      resource: (call) => userArn(call.accountId, call.input["Path"] ?? "/", call.input["UserName"] ?? ""),
      async run(call) {
        const user: IamUser = {
          accountId: call.accountId,
          userName: userName(call),
          userId: newUserId(),
          path: path(call),
          createdAtMs: call.nowMs,
        };
        try {
          await deps.principals.createUser(user);
        } catch (error) {
          if (!(error instanceof PrincipalExistsError)) throw error;
          throw new ApiError("EntityAlreadyExists", `User with name ${user.userName} already exists.`);
        }
        const xml = userXml(user);
        // CloudTrail's IAM records write createDate as Java's date text (`Aug 1, 2024 1:33:28 PM`).
        const logged = {
          ...(toLowerCamelKeys(xml) as Record<string, unknown>),
          createDate: javaDefaultDateText(user.createdAtMs),
        };
        return { result: { User: xml }, responseElements: { user: logged } };
      },
    },
    GetUser: {
      readOnly: true,
      resource: (call) => (call.input["UserName"] === undefined ? callerArn(call) : namedUserResource(call)),
      async run(call) {
        const name = call.input["UserName"] ?? (call.principal.type === "IAMUser" ? call.principal.name : undefined);
        if (name === undefined) return { result: { User: rootUserXml(call) }, responseElements: null };
        const user = await existingUser(deps, call.accountId, userName({ ...call, input: { UserName: name } }));
        return { result: { User: userXml(user) }, responseElements: null };
      },
    },
    ListUsers: {
      readOnly: true,
      resource: (call) => userArn(call.accountId, call.input["PathPrefix"] ?? "/", ""),
      async run(call) {
        const { maxItems, marker } = paging(call);
        const prefix = path(call, "PathPrefix");
        const users = (await deps.principals.listUsers(call.accountId)).filter(
          (user) =>
            user.path.startsWith(prefix) &&
            (marker === undefined || user.userName.toLowerCase() > marker.toLowerCase()),
        );
        const page = users.slice(0, maxItems);
        const truncated = users.length > maxItems;
        return {
          result: {
            Users: page.map(userXml),
            IsTruncated: truncated,
            Marker: truncated ? page.at(-1)!.userName : undefined,
          },
          responseElements: null,
        };
      },
    },
    DeleteUser: {
      readOnly: false,
      resource: namedUserResource,
      async run(call) {
        const user = await existingUser(deps, call.accountId, userName(call));
        await refuseWhileInUse(deps, user);
        await deps.principals.deleteUser(user.accountId, user.userName);
        return { result: null, responseElements: null };
      },
    },
  };
}

/** IAM refuses DeleteUser while the user has keys or policies, naming what to delete first. */
async function refuseWhileInUse(deps: IamDependencies, user: IamUser): Promise<void> {
  const keys = (await deps.principals.list({ accountId: user.accountId })).filter(
    (p) => p.type === "IAMUser" && p.name.toLowerCase() === user.userName.toLowerCase(),
  );
  if (keys.length > 0) throw new ApiError("DeleteConflict", "Cannot delete entity, must delete access keys first.");
  const policies = await deps.principals.policiesOf({ accountId: user.accountId, kind: "user", name: user.userName });
  if (policies.inline.length > 0)
    throw new ApiError("DeleteConflict", "Cannot delete entity, must delete policies first.");
  if (policies.managedArns.length > 0) {
    throw new ApiError("DeleteConflict", "Cannot delete entity, must detach all policies first.");
  }
}

function callerArn(call: IamCall): string {
  return call.principal.type === "IAMUser"
    ? userArn(call.accountId, "/", call.principal.name)
    : `arn:aws:iam::${call.accountId}:root`;
}

function rootUserXml(call: IamCall): { [name: string]: XmlValue } {
  return {
    UserId: call.accountId,
    Arn: `arn:aws:iam::${call.accountId}:root`,
    CreateDate: iamTime(call.principal.createdAtMs),
  };
}
