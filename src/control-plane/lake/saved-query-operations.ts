/**
 * PutSavedQuery, ListSavedQueries, DeleteSavedQuery: Lake statements a user keeps to run again (a
 * Cairn extension in the cloudtrail namespace, docs/reference/lake.md "Saved queries"). The route
 * authorises each call as `cloudtrail:<Operation>` on `*` (a saved query has no ARN) and records it
 * like every call; a saved query belongs to the calling user (its ARN) in the calling account, and no
 * call reaches another user's.
 */
import { principalArn } from "../../auth/authorizer.js";
import { ApiError } from "../../lib/api-error.js";
import type { SavedQuery, SavedQueryStore } from "../../stores/saved-queries/index.js";
import { optionalInteger, optionalString } from "../input.js";
import type { OperationContext, OperationHandler } from "../operation.js";

/** Saved queries one user may keep. */
const SAVED_QUERIES_PER_USER_MAX = 100;
const NAME_CHARS_MAX = 128;
const STATEMENT_CHARS_MAX = 10_000;
const DESCRIPTION_CHARS_MAX = 1_000;
const PAGE_MAX = 100;
/** Control characters (NUL included, which PostgreSQL text cannot hold) never belong in a name. */
const hasControl = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20 || c === "\u007f");

export function createSavedQueryOperations(
  store: SavedQueryStore,
  nowMs: () => number,
): Array<[string, OperationHandler]> {
  return [
    ["PutSavedQuery", putSavedQuery(store, nowMs)],
    ["ListSavedQueries", listSavedQueries(store)],
    ["DeleteSavedQuery", deleteSavedQuery(store)],
  ];
}

function requiredText(input: Record<string, unknown>, member: string, max: number): string {
  const value = optionalString(input, member);
  if (value === undefined || value.trim() === "" || value.length > max)
    throw new ApiError("InvalidParameterException", `${member} must be 1 to ${max} characters, not all blank.`);
  return value;
}

function nameOf(input: Record<string, unknown>): string {
  const name = requiredText(input, "Name", NAME_CHARS_MAX);
  if (hasControl(name)) throw new ApiError("InvalidParameterException", "Name must not hold control characters.");
  return name;
}

function noNul(member: string, value: string): string {
  if (value.includes("\u0000")) throw new ApiError("InvalidParameterException", `${member} must not hold NUL.`);
  return value;
}

const ownerOf = (context: OperationContext): string => principalArn(context.principal);

function view(query: SavedQuery): Record<string, unknown> {
  return {
    Name: query.name,
    QueryStatement: query.statement,
    ...(query.description !== undefined ? { Description: query.description } : {}),
    CreationTime: query.createdMs / 1000,
    UpdatedTime: query.updatedMs / 1000,
  };
}

function putSavedQuery(store: SavedQueryStore, nowMs: () => number): OperationHandler {
  return async (input, context) => {
    const name = nameOf(input);
    const statement = noNul("QueryStatement", requiredText(input, "QueryStatement", STATEMENT_CHARS_MAX));
    const description = optionalString(input, "Description");
    if (description !== undefined && description.length > DESCRIPTION_CHARS_MAX)
      throw new ApiError(
        "InvalidParameterException",
        `Description must be at most ${DESCRIPTION_CHARS_MAX} characters.`,
      );
    const now = nowMs();
    const { saved } = await store.put(
      {
        ...{ accountId: context.accountId, owner: ownerOf(context), name, statement },
        ...(description !== undefined ? { description: noNul("Description", description) } : {}),
        ...{ createdMs: now, updatedMs: now },
      },
      SAVED_QUERIES_PER_USER_MAX,
    );
    if (saved === undefined)
      throw new ApiError("LimitExceededException", `A user keeps at most ${SAVED_QUERIES_PER_USER_MAX} saved queries.`);
    return { output: view(saved), responseElements: { name: saved.name } };
  };
}

function listSavedQueries(store: SavedQueryStore): OperationHandler {
  return async (input, context) => {
    const max = optionalInteger(input, "MaxResults") ?? PAGE_MAX;
    if (max < 1 || max > PAGE_MAX)
      throw new ApiError("InvalidMaxResultsException", `MaxResults must be between 1 and ${PAGE_MAX}.`);
    const token = optionalString(input, "NextToken");
    const after = token === undefined ? undefined : nameOfToken(token);
    const page = await store.list(context.accountId, ownerOf(context), {
      max,
      ...(after !== undefined ? { after } : {}),
    });
    return {
      output: {
        SavedQueries: page.queries.map(view),
        ...(page.nextAfter !== undefined ? { NextToken: Buffer.from(page.nextAfter).toString("base64url") } : {}),
      },
    };
  };
}

/** A NextToken is the last name of the previous page, base64url. */
function nameOfToken(token: string): string {
  const name = /^[A-Za-z0-9_-]{1,700}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  if (name === "" || name.length > NAME_CHARS_MAX || Buffer.from(name).toString("base64url") !== token)
    throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
  return name;
}

function deleteSavedQuery(store: SavedQueryStore): OperationHandler {
  return async (input, context) => {
    const name = nameOf(input);
    if (!(await store.delete(context.accountId, ownerOf(context), name)))
      throw new ApiError("ResourceNotFoundException", `You have no saved query named ${name}.`);
    return { output: {}, responseElements: null };
  };
}
