import type { FastifyInstance } from "fastify";
import {
  decodeBody,
  INGEST_BODY_BYTES_MAX,
  recordsOf,
  triage,
  type IngestFailure,
  type IngestRepair,
} from "../../capture/ingest/ingest-batch.js";
import { CAIRN_INGEST_ENDPOINT, cairnEndpointResource } from "../../model/cairn-resources.js";
import { ingestedBy } from "../../stores/principals/index.js";
import { assertJsonContentType } from "../json-content-type.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";

interface IngestOutcome {
  accepted: number;
  duplicates: number;
  failed: IngestFailure[];
  /** Present only when a record was stored repaired, so the usual answer keeps its three members. */
  repaired?: IngestRepair[];
}

export function registerIngestRoute(app: FastifyInstance, context: RouteContext, homeAccountId: string): void {
  app.post(
    "/ingest",
    { bodyLimit: INGEST_BODY_BYTES_MAX },
    audited<IngestOutcome>(context, {
      eventName: () => "Ingest",
      readOnly: () => false,
      unavailableMessage: "Cairn cannot durably store events right now; nothing was stored. Retry later.",
      handle: (call) => ingest(call, homeAccountId),
      answer(reply, outcome, seqs, call) {
        // One atomic group: the records and the record of their ingestion became durable together.
        outcome.duplicates = seqs.filter((seq) => seq === null).length;
        void reply
          .code(200)
          .headers({ "content-type": "application/json", "x-amzn-requestid": call.requestId })
          .send(JSON.stringify(outcome));
      },
    }),
  );
}

async function ingest(call: AuditedCall, homeAccountId: string): Promise<IngestOutcome> {
  const { principal, claim } = await call.authenticate();
  // Cairn's own action: who may put records into the trail (docs/reference/security.md).
  await call.authorize("cloudtrail:Ingest", "*");
  // A delivered batch is plumbing, not activity: a data event of the ingest endpoint when it succeeds.
  call.note.dataEvent = [cairnEndpointResource(CAIRN_INGEST_ENDPOINT, claim.region, principal.accountId)];
  assertJsonContentType(call.request.headers["content-type"], "application/json");
  const encoding = call.request.headers["content-encoding"];
  const records = recordsOf(await decodeBody(call.body, Array.isArray(encoding) ? encoding[0] : encoding));
  // The root of the server's home account may ingest any account's records, as an organization's
  // management account receives its members' trails; every other principal only its own account's.
  const mayIngestAnyAccount = principal.type === "Root" && principal.accountId === homeAccountId;
  // Who put the records in is kept next to each one (the journal envelope), from the verified
  // signature: a record claiming another identity of the account is told apart by it.
  const caller = { accountId: principal.accountId, mayIngestAnyAccount, provenance: ingestedBy(principal, "ingest") };
  const sorted = triage(records, caller, call.nowMs);
  call.note.input = { RecordCount: records.length };
  call.note.items = sorted.items;
  call.note.responseElements = { accepted: sorted.items.length, failed: sorted.failed.length };
  return {
    accepted: sorted.items.length,
    duplicates: 0,
    failed: sorted.failed,
    ...(sorted.repaired.length > 0 ? { repaired: sorted.repaired } : {}),
  };
}
