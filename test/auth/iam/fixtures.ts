import type { AuthorizationRequest } from "../../../src/auth/authorizer.js";
import type { Principal, PrincipalType } from "../../../src/stores/principals/index.js";

const ACCOUNT = "123456789012";
export const TRAIL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/t`;
/** 2024-05-01T12:00:00Z */
export const NOW_MS = Date.UTC(2024, 4, 1, 12, 0, 0);

export function principal(type: PrincipalType = "IAMUser", name = "bob"): Principal {
  const ids: Record<PrincipalType, string> = {
    Root: ACCOUNT,
    IAMUser: "AIDAEXAMPLEBOB",
    AssumedRole: "AROAEXAMPLEROLE",
  };
  return {
    name,
    type,
    accountId: ACCOUNT,
    accessKeyId: "AKIAEXAMPLE",
    secretAccessKey: "secret",
    principalId: ids[type],
    createdAtMs: 0,
  };
}

/** A call by bob (an IAM user) over TLS from 203.0.113.9, unless overridden. */
export function request(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    principal: principal(),
    action: "cloudtrail:StopLogging",
    resource: TRAIL_ARN,
    nowMs: NOW_MS,
    sourceIp: "203.0.113.9",
    secureTransport: true,
    ...overrides,
  };
}

/** A 2012-10-17 document with these statements. */
export function policy(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
