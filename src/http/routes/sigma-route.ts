import type { FastifyInstance, FastifyRequest } from "fastify";
import { principalArn } from "../../auth/authorizer.js";
import { JournalUnavailableError, type Journal } from "../../journal/index.js";
import { ApiError } from "../../lib/api-error.js";
import { uploadedRule } from "../../sigma/index.js";
import {
  SIGMA_MATCH_PAGE_MAX,
  SIGMA_RULE_BYTES_MAX,
  SIGMA_RULES_PER_ACCOUNT_MAX,
  type SigmaMatch,
  type SigmaMatchFilter,
  type SigmaMatchStore,
  type SigmaRuleStore,
  type StoredSigmaRule,
} from "../../stores/sigma/index.js";
import type { SigmaMatchAnswer } from "../../model/sigma-match-answer.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";

const UNAVAILABLE = "Cairn cannot durably record this call right now. Retry later.";
const PAGE_DEFAULT = 100;
const RULE_ID_CHARS_MAX = 256;

export interface SigmaRouteStores {
  readonly rules: SigmaRuleStore;
  readonly matches: SigmaMatchStore;
}

interface RuleAnswer {
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly addedBy: string;
  readonly addedAt: string;
}

/**
 * Cairn's own Sigma API (docs/reference/sigma.md, "API"), signed for the service `cloudtrail` and
 * recorded under its own eventNames: `PUT /sigma/rules` (the body is one rule file),
 * `GET /sigma/rules`, `DELETE /sigma/rules?id=<id>`, `GET /sigma/matches`. A rule belongs to the
 * account that added it and sees only that account's records; a caller lists and removes only its
 * account's rules and matches.
 */
export function registerSigmaRoutes(app: FastifyInstance, context: RouteContext, stores: SigmaRouteStores): void {
  const json = (reply: import("fastify").FastifyReply, result: unknown, call: AuditedCall): void =>
    void reply
      .code(200)
      .headers({ "content-type": "application/json", "x-amzn-requestid": call.requestId })
      .send(JSON.stringify(result));
  app.put(
    "/sigma/rules",
    audited<RuleAnswer & { created: boolean }>(context, {
      eventName: () => "PutSigmaRule",
      readOnly: () => false,
      unavailableMessage: UNAVAILABLE,
      handle: (call) => putRule(call, context, stores.rules),
      answer: (reply, result, _seqs, call) => json(reply, result, call),
    }),
  );
  app.get(
    "/sigma/rules",
    audited<{ rules: RuleAnswer[] }>(context, {
      eventName: () => "ListSigmaRules",
      readOnly: () => true,
      unavailableMessage: UNAVAILABLE,
      async handle(call) {
        const { principal } = await call.authenticate();
        await call.authorize("cloudtrail:ListSigmaRules", "*");
        return { rules: (await stores.rules.list(principal.accountId)).map(ruleAnswerOf) };
      },
      answer: (reply, result, _seqs, call) => json(reply, result, call),
    }),
  );
  app.delete(
    "/sigma/rules",
    audited<{ id: string }>(context, {
      eventName: () => "DeleteSigmaRule",
      readOnly: () => false,
      unavailableMessage: UNAVAILABLE,
      async handle(call) {
        const { principal } = await call.authenticate();
        await call.authorize("cloudtrail:DeleteSigmaRule", "*");
        const id = ruleIdParameter(call.request);
        call.note.input = { id };
        await journalWritable(context.journal);
        if (!(await stores.rules.delete(principal.accountId, id)))
          throw new ApiError("ResourceNotFoundException", "Your account has no Sigma rule with this id.");
        return { id };
      },
      answer: (reply, result, _seqs, call) => json(reply, result, call),
    }),
  );
  app.get(
    "/sigma/matches",
    audited<{ matches: SigmaMatchAnswer[]; nextToken?: string }>(context, {
      eventName: () => "ListSigmaMatches",
      readOnly: () => true,
      unavailableMessage: UNAVAILABLE,
      async handle(call) {
        const { principal } = await call.authenticate();
        await call.authorize("cloudtrail:ListSigmaMatches", "*");
        const filter = matchFilterOf(call.request.query as Record<string, unknown>, principal.accountId);
        const { accountId: _account, ...input } = filter;
        call.note.input = input;
        const page = await stores.matches.listMatches({ ...filter, limit: filter.limit + 1 });
        const shown = page.slice(0, filter.limit);
        return {
          matches: shown.map(matchAnswerOf),
          ...(page.length > filter.limit ? { nextToken: String(shown.at(-1)!.id) } : {}),
        };
      },
      answer: (reply, result, _seqs, call) => json(reply, result, call),
    }),
  );
}

/** Refuses what the engine refuses, with its reason, before anything is stored. */
async function putRule(
  call: AuditedCall,
  context: RouteContext,
  rules: SigmaRuleStore,
): Promise<RuleAnswer & { created: boolean }> {
  const { principal } = await call.authenticate();
  await call.authorize("cloudtrail:PutSigmaRule", "*");
  if (call.body.length === 0)
    throw new ApiError("ValidationException", "The request body must be one Sigma rule file.");
  if (call.body.length > SIGMA_RULE_BYTES_MAX)
    throw new ApiError("ValidationException", `A Sigma rule file is at most ${SIGMA_RULE_BYTES_MAX} bytes.`);
  const yaml = new TextDecoder("utf-8", { fatal: false }).decode(call.body);
  const upload = uploadedRule("rule", yaml);
  if ("reason" in upload) throw new ApiError("ValidationException", `The Sigma rule is refused: ${upload.reason}.`);
  call.note.input = { id: upload.id, title: upload.title, level: upload.level };
  await journalWritable(context.journal);
  const stored: StoredSigmaRule = {
    accountId: principal.accountId,
    id: upload.id,
    title: upload.title,
    level: upload.level,
    yaml,
    addedBy: principalArn(principal),
    addedAtMs: call.nowMs,
  };
  const outcome = await rules.put(stored, SIGMA_RULES_PER_ACCOUNT_MAX);
  if (outcome === "limit")
    throw new ApiError(
      "LimitExceededException",
      `An account has at most ${SIGMA_RULES_PER_ACCOUNT_MAX} Sigma rules; remove one before adding another.`,
    );
  return { ...ruleAnswerOf(stored), created: outcome === "created" };
}

function ruleIdParameter(request: FastifyRequest): string {
  const id = (request.query as Record<string, unknown>)["id"];
  if (typeof id !== "string" || id.length === 0 || id.length > RULE_ID_CHARS_MAX)
    throw new ApiError("ValidationException", `A rule id is 1–${RULE_ID_CHARS_MAX} characters.`);
  return id;
}

function matchFilterOf(query: Record<string, unknown>, accountId: string): SigmaMatchFilter {
  const maxResults = query["maxResults"] === undefined ? PAGE_DEFAULT : Number(query["maxResults"]);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > SIGMA_MATCH_PAGE_MAX)
    throw new ApiError("InvalidMaxResultsException", `maxResults must be an integer 1–${SIGMA_MATCH_PAGE_MAX}.`);
  const ruleId = query["ruleId"];
  if (ruleId !== undefined && (typeof ruleId !== "string" || ruleId.length === 0 || ruleId.length > RULE_ID_CHARS_MAX))
    throw new ApiError("ValidationException", `ruleId is 1–${RULE_ID_CHARS_MAX} characters.`);
  const startMs = timeParameter(query, "startTime");
  const endMs = timeParameter(query, "endTime");
  if (startMs !== undefined && endMs !== undefined && startMs > endMs)
    throw new ApiError("InvalidTimeRangeException", "startTime must not be after endTime.");
  const token = query["nextToken"];
  if (token !== undefined && (typeof token !== "string" || !/^\d{1,15}$/.test(token)))
    throw new ApiError("InvalidNextTokenException", "nextToken is not one this server returned.");
  return {
    accountId,
    limit: maxResults,
    ...(typeof ruleId === "string" ? { ruleId } : {}),
    ...(startMs !== undefined ? { startMs } : {}),
    ...(endMs !== undefined ? { endMs } : {}),
    ...(typeof token === "string" ? { afterId: Number(token) } : {}),
  };
}

/** ISO-8601 or epoch seconds, as CloudTrail's time parameters. */
function timeParameter(query: Record<string, unknown>, name: string): number | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value.trim() : "";
  const ms = /^\d{1,12}(\.\d+)?$/.test(text)
    ? Number(text) * 1000
    : /^\d{4}-\d{2}-\d{2}/.test(text)
      ? Date.parse(text)
      : NaN;
  if (!Number.isFinite(ms))
    throw new ApiError("InvalidTimeRangeException", `${name} must be ISO-8601 or epoch seconds.`);
  return ms;
}

function ruleAnswerOf(rule: StoredSigmaRule): RuleAnswer {
  return {
    id: rule.id,
    title: rule.title,
    level: rule.level,
    addedBy: rule.addedBy,
    addedAt: new Date(rule.addedAtMs).toISOString(),
  };
}

function matchAnswerOf(match: SigmaMatch): SigmaMatchAnswer {
  return {
    ruleId: match.ruleId,
    title: match.title,
    level: match.level,
    kind: match.kind,
    eventID: match.eventID,
    eventTime: match.eventTime,
    eventIDs: match.events.map((event) => event.eventID),
    ...(match.groupBy !== undefined ? { groupBy: match.groupBy } : {}),
    matchedAt: new Date(match.matchedAtMs).toISOString(),
  };
}

/** A change whose record the journal could not take now would go unrecorded: nothing is changed then. */
async function journalWritable(journal: Journal): Promise<void> {
  try {
    await journal.checkWritable();
  } catch (error) {
    if (!(error instanceof JournalUnavailableError)) throw error;
    throw new ApiError("ServiceUnavailableException", UNAVAILABLE, { "retry-after": "1" });
  }
}
