import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  EntityAlreadyExistsException,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import type { ClientSettings } from "../../client/client-settings.js";
import type { Principal } from "../../stores/principals/index.js";
import type { Output } from "../output.js";
import { UsageError } from "../usage-error.js";

/**
 * `cairn principal attach|detach|show`: clients of the IAM-shaped API on the running server, signed
 * with the caller's credentials (the data dir's admin by default), so each change is authorised and
 * recorded like any `aws iam` call.
 */
export interface PrincipalApiOptions {
  readonly client: ClientSettings;
  readonly userName: string;
  /** Cairn's operator extension: the bootstrap admin acting on another account's user. */
  readonly accountId?: string;
  readonly json?: boolean;
  readonly stdout: Output;
}

export interface PolicyChange {
  readonly policyArns: readonly string[];
  /** Files holding policy documents; each becomes the inline policy named after the file (or `policyName`). */
  readonly policyFiles: readonly string[];
  readonly policyName?: string;
}

function iamClient(options: PrincipalApiOptions): IAMClient {
  const { client } = options;
  const iam = new IAMClient({
    endpoint: client.endpointUrl,
    region: client.region,
    credentials: client.credentials,
    maxAttempts: 1,
  });
  if (options.accountId !== undefined) {
    const accountId = options.accountId;
    // The IAM model has no AccountId member; the form gains it before signing.
    iam.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown; headers?: Record<string, string> };
        if (typeof request.body === "string") {
          request.body += `&AccountId=${encodeURIComponent(accountId)}`;
          if (request.headers !== undefined)
            request.headers["content-length"] = String(Buffer.byteLength(request.body));
        }
        return next(args);
      },
      { step: "build", name: "cairnOperatorAccount" },
    );
  }
  return iam;
}

/** The inline policy name a file gives: its name without extension, or the one given. */
export function inlinePolicyName(file: string, given: string | undefined): string {
  return given ?? basename(file, extname(file));
}

export async function runPrincipalAttach(options: PrincipalApiOptions & PolicyChange): Promise<void> {
  if (options.policyArns.length + options.policyFiles.length === 0) {
    throw new UsageError("give --policy-arn ARN or --policy FILE (either may repeat)");
  }
  const iam = iamClient(options);
  try {
    for (const arn of options.policyArns) {
      await iam.send(new AttachUserPolicyCommand({ UserName: options.userName, PolicyArn: arn }));
      options.stdout.write(`Attached ${arn} to ${options.userName}.\n`);
    }
    for (const file of options.policyFiles) {
      const name = inlinePolicyName(file, options.policyName);
      const document = await readFile(file, "utf8");
      await iam.send(
        new PutUserPolicyCommand({ UserName: options.userName, PolicyName: name, PolicyDocument: document }),
      );
      options.stdout.write(`Put inline policy ${name} on ${options.userName}.\n`);
    }
  } finally {
    iam.destroy();
  }
}

export async function runPrincipalDetach(options: PrincipalApiOptions & PolicyChange): Promise<void> {
  const names = options.policyName !== undefined ? [options.policyName] : [];
  if (options.policyArns.length + names.length === 0)
    throw new UsageError("give --policy-arn ARN or --policy-name NAME");
  const iam = iamClient(options);
  try {
    for (const arn of options.policyArns) {
      await iam.send(new DetachUserPolicyCommand({ UserName: options.userName, PolicyArn: arn }));
      options.stdout.write(`Detached ${arn} from ${options.userName}.\n`);
    }
    for (const name of names) {
      await iam.send(new DeleteUserPolicyCommand({ UserName: options.userName, PolicyName: name }));
      options.stdout.write(`Deleted inline policy ${name} of ${options.userName}.\n`);
    }
  } finally {
    iam.destroy();
  }
}

/** `cairn principal show`: the user, its access key ids (never secrets) and its policies. */
export async function runPrincipalShow(options: PrincipalApiOptions): Promise<Record<string, unknown>> {
  const iam = iamClient(options);
  try {
    const UserName = options.userName;
    const [user, keys, inline, attached] = await Promise.all([
      iam.send(new GetUserCommand({ UserName })),
      iam.send(new ListAccessKeysCommand({ UserName })),
      iam.send(new ListUserPoliciesCommand({ UserName })),
      iam.send(new ListAttachedUserPoliciesCommand({ UserName })),
    ]);
    const shown = {
      userName: user.User?.UserName,
      userId: user.User?.UserId,
      arn: user.User?.Arn,
      accessKeyIds: (keys.AccessKeyMetadata ?? []).map((key) => key.AccessKeyId),
      inlinePolicies: inline.PolicyNames ?? [],
      attachedPolicies: (attached.AttachedPolicies ?? []).map((policy) => policy.PolicyArn),
    };
    options.stdout.write(options.json ? JSON.stringify(shown, null, 2) + "\n" : formatShown(shown));
    return shown;
  } finally {
    iam.destroy();
  }
}

function formatShown(shown: Record<string, unknown>): string {
  const list = (value: unknown) => ((value as string[]).length === 0 ? "(none)" : (value as string[]).join(", "));
  return [
    `User ${String(shown["userName"])} (${String(shown["arn"])})`,
    `  User ID:           ${String(shown["userId"])}`,
    `  Access key IDs:    ${list(shown["accessKeyIds"])}`,
    `  Inline policies:   ${list(shown["inlinePolicies"])}`,
    `  Attached policies: ${list(shown["attachedPolicies"])}`,
    "",
  ].join("\n");
}

export interface NewUserKey {
  readonly userName: string;
  readonly accountId: string;
  readonly inline: ReadonlyArray<{ name: string; document: string }>;
  readonly managedArns: readonly string[];
}

/**
 * `cairn principal add` of an IAM user through the running server: CreateUser (an existing user gets
 * another key, as in IAM), CreateAccessKey, then its policies, each call authorised and recorded.
 * Resolves undefined when no server answers at the endpoint, so the caller can write the data
 * directory instead.
 */
export async function addUserThroughApi(client: ClientSettings, user: NewUserKey): Promise<Principal | undefined> {
  const iam = iamClient({ client, userName: user.userName, accountId: user.accountId, stdout: process.stdout });
  try {
    const UserName = user.userName;
    let userId: string;
    try {
      userId = (await iam.send(new CreateUserCommand({ UserName }))).User!.UserId!;
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
      userId = (await iam.send(new GetUserCommand({ UserName }))).User!.UserId!;
    }
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName }))).AccessKey!;
    for (const { name, document } of user.inline) {
      await iam.send(new PutUserPolicyCommand({ UserName, PolicyName: name, PolicyDocument: document }));
    }
    for (const arn of user.managedArns) await iam.send(new AttachUserPolicyCommand({ UserName, PolicyArn: arn }));
    return {
      name: UserName,
      type: "IAMUser",
      accountId: user.accountId,
      accessKeyId: key.AccessKeyId!,
      secretAccessKey: key.SecretAccessKey!,
      principalId: userId,
      createdAtMs: key.CreateDate?.getTime() ?? 0,
    };
  } catch (error) {
    if (isUnreachable(error)) return undefined;
    throw error;
  } finally {
    iam.destroy();
  }
}

/** No server listening: the connection itself failed, no answer came. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EHOSTUNREACH";
}
