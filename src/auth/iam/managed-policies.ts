import { readFileSync } from "node:fs";
import { isPlainObject } from "../../lib/plain-object.js";

/** An AWS managed policy as IAM's GetPolicy / GetPolicyVersion describe it. */
export interface AwsManagedPolicy {
  readonly arn: string;
  readonly policyName: string;
  /** `/`, or a path such as `/job-function/` or `/service-role/`. */
  readonly path: string;
  /** The default (latest) version, e.g. `v5`. */
  readonly versionId: string;
  /** ISO 8601. */
  readonly createDate: string;
  readonly updateDate: string;
  /** The document text of the default version. */
  readonly document: string;
}

const ARN_PREFIX = "arn:aws:iam::aws:policy/";
// Written by scripts/gen-managed-policies.js at build time, beside the compiled module.
const FILE = new URL("./aws-managed-policies.json", import.meta.url);

let loaded: ReadonlyMap<string, AwsManagedPolicy> | undefined;

function entryOf(arn: string, raw: unknown): AwsManagedPolicy {
  const fields = isPlainObject(raw) ? raw : {};
  const text = (name: string): string => {
    const value = fields[name];
    if (typeof value !== "string") throw new Error(`aws-managed-policies.json: ${arn} has no ${name}.`);
    return value;
  };
  const slash = arn.lastIndexOf("/");
  return {
    arn,
    policyName: arn.slice(slash + 1),
    path: arn.slice(ARN_PREFIX.length - 1, slash + 1),
    versionId: text("versionId"),
    createDate: text("createDate"),
    updateDate: text("updateDate"),
    document: text("document"),
  };
}

/** Reads the generated file once, on first use (about 3 MB; the server may never need it). */
function policies(): ReadonlyMap<string, AwsManagedPolicy> {
  if (loaded !== undefined) return loaded;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(FILE, "utf8")) as unknown;
  } catch (error) {
    throw new Error("The AWS managed policies are missing from this build: run `npm run build`.", { cause: error });
  }
  if (!isPlainObject(raw)) throw new Error("aws-managed-policies.json is not an object of policies.");
  loaded = new Map(Object.entries(raw).map(([arn, entry]) => [arn, entryOf(arn, entry)]));
  return loaded;
}

/** Whether an ARN is in AWS's namespace for managed policies (`arn:aws:iam::aws:policy/…`). */
export function isAwsManagedPolicyArn(arn: string): boolean {
  return arn.startsWith(ARN_PREFIX);
}

/** The AWS managed policy with this ARN, or undefined (the IAM API answers NoSuchEntity). */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return isAwsManagedPolicyArn(arn) ? policies().get(arn) : undefined;
}

/** The document text of the AWS managed policy with this ARN, or undefined for an unknown ARN. */
export function managedPolicy(arn: string): string | undefined {
  return awsManagedPolicy(arn)?.document;
}

/** Every AWS managed policy, ordered by ARN (ListPolicies with Scope=AWS). */
export function awsManagedPolicies(): readonly AwsManagedPolicy[] {
  return [...policies().values()];
}
