import type { FastifyInstance } from "fastify";
import { principalArn } from "../../auth/authorizer.js";
import { JournalUnavailableError, type Journal } from "../../journal/index.js";
import { ApiError } from "../../lib/api-error.js";
import type { QuarantineStore } from "../../stores/quarantine/index.js";
import { audited, type RouteContext } from "../audited-route.js";
import { consumerParameter, quarantineScope } from "./quarantine-route.js";

/** What the caller named: records of one consumer, one seq, both, or all of them. */
interface Dismissal {
  readonly consumer?: string;
  readonly seq?: number;
  readonly all?: true;
}

const UNAVAILABLE = "Cairn cannot durably record this call right now. Retry later.";

/**
 * `DELETE /quarantine` (Cairn extension, what `cairn quarantine dismiss` calls): clears quarantined
 * records an operator has looked at (docs/reference/security.md, "Quarantine"): `consumer`, `seq`,
 * both, or `all=true` alone. A caller reaches only the records it may list (its account's; the home
 * account's root: all), and `dismissed` says how many went. Authorised as Cairn's own action
 * `cloudtrail:DismissQuarantinedRecords` (not in `cloudtrail:List*`), recorded as
 * `DismissQuarantinedRecords`, and logged by the server.
 */
export function registerQuarantineDismissRoute(
  app: FastifyInstance,
  context: RouteContext,
  quarantine: QuarantineStore,
  options: { readonly homeAccountId: string; readonly log: (line: string) => void },
): void {
  app.delete(
    "/quarantine",
    audited<{ dismissed: number }>(context, {
      eventName: () => "DismissQuarantinedRecords",
      readOnly: () => false,
      unavailableMessage: UNAVAILABLE,
      async handle(call) {
        const { principal } = await call.authenticate();
        await call.authorize("cloudtrail:DismissQuarantinedRecords", "*");
        const which = dismissalOf(call.request.query as Record<string, unknown>);
        call.note.input = { ...which };
        // The call's record is written after it ran: a journal that cannot take it now would leave
        // a dismissal on record nowhere, so nothing is dismissed then.
        await journalWritable(context.journal);
        const dismissed = await quarantine.dismiss({
          ...quarantineScope(principal, options.homeAccountId),
          ...(which.consumer !== undefined ? { consumer: which.consumer } : {}),
          ...(which.seq !== undefined ? { seq: which.seq } : {}),
        });
        call.note.responseElements = { dismissed };
        // JSON-quoted: a consumer name is the caller's text.
        options.log(
          `Cairn: ${principalArn(principal)} dismissed ${dismissed} quarantined record(s): ${JSON.stringify(which)}\n`,
        );
        return { dismissed };
      },
      answer(reply, result, _seqs, call) {
        void reply
          .code(200)
          .headers({ "content-type": "application/json", "x-amzn-requestid": call.requestId })
          .send(JSON.stringify(result));
      },
    }),
  );
}

/** The query's filters, checked: at least one of consumer and seq, or all=true without them. */
function dismissalOf(query: Record<string, unknown>): Dismissal {
  const consumer = consumerParameter(query);
  const seq = seqParameter(query["seq"]);
  const all = query["all"];
  if (all !== undefined && all !== "true")
    throw new ApiError("InvalidParameterException", "all must be true when given.");
  if ((all === "true") === (consumer !== undefined || seq !== undefined))
    throw new ApiError(
      "InvalidParameterCombinationException",
      "Name the quarantined records to dismiss: consumer, seq or both, or all=true alone.",
    );
  return {
    ...(consumer !== undefined ? { consumer } : {}),
    ...(seq !== undefined ? { seq } : {}),
    ...(all === "true" ? { all: true } : {}),
  };
}

function seqParameter(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seq = typeof value === "string" && /^[1-9]\d{0,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(seq))
    throw new ApiError("InvalidParameterException", "seq must be one journal seq, a positive integer.");
  return seq;
}

async function journalWritable(journal: Journal): Promise<void> {
  try {
    await journal.checkWritable();
  } catch (error) {
    if (!(error instanceof JournalUnavailableError)) throw error;
    throw new ApiError("ServiceUnavailableException", UNAVAILABLE, { "retry-after": "1" });
  }
}
