import type { Principal, PrincipalStore } from "../../stores/principals/index.js";

/** A value of an IAM Query-protocol answer: lists become `<member>` items, objects nested elements. */
export type XmlValue =
  string | number | boolean | readonly XmlValue[] | { readonly [name: string]: XmlValue | undefined };

/** One call of the IAM-shaped API, its parameters as the form sent them. */
export interface IamCall {
  readonly input: Readonly<Record<string, string>>;
  readonly principal: Principal;
  /** The account acted in: the caller's, or the one the bootstrap admin named with `AccountId`. */
  readonly accountId: string;
  readonly nowMs: number;
}

export interface IamResult {
  /** The `<OpResult>` content; null for operations that answer only ResponseMetadata. */
  readonly result: { readonly [name: string]: XmlValue | undefined } | null;
  /** What CloudTrail logs as responseElements (lowerCamel, no secret); null for most IAM writes. */
  readonly responseElements: Record<string, unknown> | null;
}

export interface IamOperation {
  readonly readOnly: boolean;
  /** The resource ARN the service authorisation reference names for the call. */
  resource(call: IamCall): string;
  run(call: IamCall): Promise<IamResult>;
}

/** What the IAM operations need from the rest of Cairn. */
export interface IamDependencies {
  readonly principals: PrincipalStore;
  /** The text of an AWS managed policy, or undefined for an ARN Cairn does not know. */
  readonly managedPolicy: (arn: string) => string | undefined;
  /** Throws ApiError MalformedPolicyDocument (or LimitExceeded) for a document IAM would refuse. */
  readonly checkPolicyDocument: (text: string, userName?: string) => void;
  /** Throws ApiError LimitExceeded when a user's inline policies together exceed IAM's quota. */
  readonly checkInlineUserPolicies: (userName: string, texts: readonly string[]) => void;
}
