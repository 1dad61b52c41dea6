import type { Session } from "./session.js";
import { signedCall } from "./signed-call.js";

/**
 * Saved Lake queries: Cairn's PutSavedQuery, ListSavedQueries and DeleteSavedQuery (a Cairn
 * extension, docs/reference/lake.md "Saved queries"). The published CloudTrail client does not model
 * them, so these calls are signed by signed-call.ts and sent in CloudTrail's JSON protocol.
 */
export interface SavedQuery {
  readonly Name: string;
  readonly QueryStatement: string;
  readonly Description?: string;
  readonly CreationTime: number;
  readonly UpdatedTime: number;
}

function call<T>(session: Session, operation: string, input: object): Promise<T> {
  return signedCall<T>(session, {
    method: "POST",
    path: "/",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `CloudTrail_20131101.${operation}` },
    body: JSON.stringify(input),
  });
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
