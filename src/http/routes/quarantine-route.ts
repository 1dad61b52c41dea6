import type { FastifyInstance } from "fastify";
import { ApiError } from "../../lib/api-error.js";
import { CAIRN_QUARANTINE_ENDPOINT, cairnEndpointResource } from "../../model/cairn-resources.js";
import type { Principal } from "../../stores/principals/index.js";
import {
  QUARANTINE_PAGE_MAX,
  type QuarantinedRecord,
  type QuarantineListOptions,
  type QuarantinePosition,
  type QuarantineStore,
} from "../../stores/quarantine/index.js";
import { audited, type RouteContext } from "../audited-route.js";

/** Page size when the caller names none. */
const PAGE_DEFAULT = 100;
/** Consumer names are `event-history`, `lake-writer` or `trail-delivery:<trail ARN>`; ARNs stay far below this. */
const CONSUMER_CHARS_MAX = 2_100;

interface QuarantinePageAnswer {
  readonly records: Array<{
    consumer: string;
    seq: number;
    eventId?: string;
    accountId?: string;
    error: string;
    quarantinedAt: string;
  }>;
  readonly nextToken?: string;
}

/**
 * `GET /quarantine` (Cairn extension, what `cairn quarantine list` calls): the records consumers set
 * aside because their stores refused them (docs/reference/security.md, "Quarantine"), in journal
 * order, a page at a time (`maxResults` 1–1000, `nextToken`, optional `consumer`). A caller sees its
 * own account's records; the root of the server's home account, which may ingest for any account,
 * sees every account's and those whose account could not be read.
 */
export function registerQuarantineRoute(
  app: FastifyInstance,
  context: RouteContext,
  quarantine: QuarantineStore,
  homeAccountId: string,
): void {
  app.get(
    "/quarantine",
    audited<QuarantinePageAnswer>(context, {
      eventName: () => "ListQuarantinedRecords",
      readOnly: () => true,
      unavailableMessage: "Cairn cannot durably record this call right now. Retry later.",
      async handle(call) {
        const { principal, claim } = await call.authenticate();
        // Cairn's own action; `cloudtrail:List*` (AWSCloudTrail_ReadOnlyAccess) includes it.
        await call.authorize("cloudtrail:ListQuarantinedRecords", "*");
        // Paging through the quarantine is plumbing (cairn quarantine list): a data event when it succeeds.
        call.note.dataEvent = [cairnEndpointResource(CAIRN_QUARANTINE_ENDPOINT, claim.region, principal.accountId)];
        const query = call.request.query as Record<string, unknown>;
        const options = listOptions(query, principal, homeAccountId);
        call.note.input = {
          maxResults: options.maxResults,
          ...(options.consumer !== undefined ? { consumer: options.consumer } : {}),
        };
        const page = await quarantine.list(options);
        return {
          records: page.records.map(answerOf),
          ...(page.next !== undefined ? { nextToken: encodeToken(page.next) } : {}),
        };
      },
      answer(reply, page, _seqs, call) {
        void reply
          .code(200)
          .headers({ "content-type": "application/json", "x-amzn-requestid": call.requestId })
          .send(JSON.stringify(page));
      },
    }),
  );
}

function listOptions(
  query: Record<string, unknown>,
  principal: Principal,
  homeAccountId: string,
): QuarantineListOptions {
  const maxResults = query["maxResults"] === undefined ? PAGE_DEFAULT : Number(query["maxResults"]);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > QUARANTINE_PAGE_MAX)
    throw new ApiError("InvalidMaxResultsException", `maxResults must be an integer 1–${QUARANTINE_PAGE_MAX}.`);
  const consumer = consumerParameter(query);
  const token = query["nextToken"];
  return {
    maxResults,
    ...quarantineScope(principal, homeAccountId),
    ...(consumer !== undefined ? { consumer } : {}),
    ...(token !== undefined ? { after: decodeToken(token) } : {}),
  };
}

/** The optional `consumer` query parameter, checked. */
export function consumerParameter(query: Record<string, unknown>): string | undefined {
  const consumer = query["consumer"];
  if (consumer !== undefined && (typeof consumer !== "string" || consumer.length > CONSUMER_CHARS_MAX))
    throw new ApiError(
      "InvalidParameterException",
      `consumer must be one consumer name of at most ${CONSUMER_CHARS_MAX} characters.`,
    );
  return consumer;
}

/**
 * Whose records a caller may see and dismiss: its own account's. The root of the server's home
 * account, which may ingest for any account, reaches every account's and those of unknown account.
 */
export function quarantineScope(principal: Principal, homeAccountId: string): { accountId?: string } {
  return principal.type === "Root" && principal.accountId === homeAccountId ? {} : { accountId: principal.accountId };
}

function answerOf(record: QuarantinedRecord): QuarantinePageAnswer["records"][number] {
  return {
    consumer: record.consumer,
    seq: record.seq,
    ...(record.eventId !== undefined ? { eventId: record.eventId } : {}),
    ...(record.accountId !== undefined ? { accountId: record.accountId } : {}),
    error: record.error,
    quarantinedAt: new Date(record.quarantinedAtMs).toISOString(),
  };
}

function encodeToken(position: QuarantinePosition): string {
  return Buffer.from(JSON.stringify([position.seq, position.consumer])).toString("base64url");
}

function decodeToken(token: unknown): QuarantinePosition {
  const invalid = new ApiError("InvalidNextTokenException", "nextToken is not one this server returned.");
  if (typeof token !== "string" || token.length > 4 * CONSUMER_CHARS_MAX) throw invalid;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid;
  const [seq, consumer] = parsed as unknown[];
  if (!Number.isSafeInteger(seq) || typeof consumer !== "string") throw invalid;
  return { seq: seq as number, consumer };
}
