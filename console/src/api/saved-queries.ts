import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Session } from "./session.js";

/**
 * Saved Lake queries: Cairn's PutSavedQuery, ListSavedQueries and DeleteSavedQuery (a Cairn
 * extension, docs/reference/lake.md "Saved queries"). The published CloudTrail client does not model
 * them, so these calls are signed here with the same SigV4 signer and sent in CloudTrail's JSON
 * protocol; the server authorises and records them like every call.
 */
export interface SavedQuery {
  readonly Name: string;
  readonly QueryStatement: string;
  readonly Description?: string;
  readonly CreationTime: number;
  readonly UpdatedTime: number;
}

/** An error the server answered, shaped as the SDK's are (name = the AWS error code). */
class SavedQueryCallError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly $metadata: { httpStatusCode: number },
  ) {
    super(message);
  }
}

async function call<T>(session: Session, operation: string, input: object): Promise<T> {
  const origin = new URL(window.location.origin);
  const body = JSON.stringify(input);
  const request = new HttpRequest({
    method: "POST",
    protocol: origin.protocol,
    hostname: origin.hostname,
    ...(origin.port !== "" ? { port: Number(origin.port) } : {}),
    path: "/",
    headers: {
      host: origin.host,
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `CloudTrail_20131101.${operation}`,
    },
    body,
  });
  const signer = new SignatureV4({
    service: "cloudtrail",
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  // The browser sets Host itself (to the same value that was signed).
  const { host: _host, ...headers } = signed.headers;
  const response = await fetch(`${origin.origin}/`, { method: "POST", headers, body });
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new SavedQueryCallError(
      String(answer["__type"] ?? "Error"),
      String(answer["message"] ?? answer["Message"] ?? `HTTP ${response.status}`),
      { httpStatusCode: response.status },
    );
  return answer as T;
}

/** Every saved query of the signed-in user, in name order. */
export async function listSavedQueries(session: Session): Promise<SavedQuery[]> {
  const all: SavedQuery[] = [];
  let token: string | undefined;
  do {
    const page = await call<{ SavedQueries?: SavedQuery[]; NextToken?: string }>(session, "ListSavedQueries", {
      ...(token !== undefined ? { NextToken: token } : {}),
    });
    all.push(...(page.SavedQueries ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return all;
}

export function putSavedQuery(session: Session, name: string, statement: string): Promise<SavedQuery> {
  return call<SavedQuery>(session, "PutSavedQuery", { Name: name, QueryStatement: statement });
}

export async function deleteSavedQuery(session: Session, name: string): Promise<void> {
  await call(session, "DeleteSavedQuery", { Name: name });
}
