import { ApiError } from "../../lib/api-error.js";
import { lowerFirst } from "../../normalize/lower-camel.js";
import type { IamCall } from "./iam-operation.js";

// IAM's parameter patterns (the IAM API reference): names of users and policies, paths, ARNs.
const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const PATH = /^(\/|\/[\x21-\x7e]{0,510}\/)$/;
const ACCESS_KEY_ID = /^\w{16,128}$/;
const POLICY_ARN = /^arn:aws:iam::(aws|\d{12}):policy\/[\x21-\x7e]{1,1000}$/;

export function required(call: IamCall, name: string): string {
  const value = call.input[name];
  if (value === undefined || value === "") {
    throw new ApiError(
      "ValidationError",
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function checked(value: string, name: string, pattern: RegExp): string {
  if (!pattern.test(value)) {
    throw new ApiError(
      "InvalidInput",
      `The specified value for ${lowerFirst(name)} is invalid. It must match ${String(pattern)}.`,
    );
  }
  return value;
}

export function userName(call: IamCall, name = "UserName"): string {
  return checked(required(call, name), name, USER_NAME);
}

/** UserName when given; otherwise the calling user's own name (IAM's default for key operations). */
export function userNameOrCaller(call: IamCall): string {
  if (call.input["UserName"] !== undefined) return userName(call);
  if (call.principal.type === "IAMUser") return call.principal.name;
  throw new ApiError("ValidationError", "UserName is required when the caller is not an IAM user.");
}

export function policyName(call: IamCall): string {
  return checked(required(call, "PolicyName"), "PolicyName", POLICY_NAME);
}

export function policyArn(call: IamCall): string {
  return checked(required(call, "PolicyArn"), "PolicyArn", POLICY_ARN);
}

export function accessKeyId(call: IamCall): string {
  return checked(required(call, "AccessKeyId"), "AccessKeyId", ACCESS_KEY_ID);
}

export function path(call: IamCall, name = "Path"): string {
  return checked(call.input[name] ?? "/", name, PATH);
}

/** MaxItems (1–1000, default 100) and Marker, as IAM's list operations page. */
export function paging(call: IamCall): { maxItems: number; marker: string | undefined } {
  const text = call.input["MaxItems"];
  const maxItems = text === undefined ? 100 : Number(text);
  if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > 1000) {
    throw new ApiError(
      "ValidationError",
      "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000",
    );
  }
  return { maxItems, marker: call.input["Marker"] };
}

export function userArn(accountId: string, userPath: string, name: string): string {
  return `arn:aws:iam::${accountId}:user${userPath}${name}`;
}

/** IAM's timestamp in XML answers: ISO 8601 in whole seconds (`2026-12-06T21:00:00Z`). */
export function iamTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
