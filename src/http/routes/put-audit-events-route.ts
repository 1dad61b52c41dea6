/**
 * The `cloudtrail-data` service (spec §7.5): `POST /PutAuditEvents?channelArn=…[&externalId=…]`,
 * REST-JSON, SigV4 with signing name `cloudtrail-data`. Each accepted audit event becomes an
 * ActivityAuditLog record (the event as sent under `eventData`, plus eventID, eventTime, awsRegion,
 * recipientAccountId and `metadata{ingestionTime, channelARN}`) appended to the journal, keyed by its
 * channel, caller account and UID so that a retried call stores nothing twice and gets the same eventIDs
 * (audit-event-batch.ts); the answer is sent only once the journal has fsynced them, and the Lake
 * consumer routes them to the channel's destination stores (store-router.ts). Errors: rest-json (`x-amzn-ErrorType` + `{"message"}`).
 */
import type { FastifyInstance } from "fastify";
import { policyAllows } from "../../auth/resource-policy.js";
import {
  admitAuditEvents,
  BODY_BYTES_MAX,
  EXTERNAL_ID,
  parseRequestBody,
  type AuditEventFailure,
} from "../../capture/audit-events/audit-event-batch.js";
import { channelIdOf, type Channel } from "../../lake/catalog/channel.js";
import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import { ingestedBy, userIdentityOf, type Principal } from "../../stores/principals/index.js";
import { audited, type AuditedCall, type RouteContext } from "../audited-route.js";

/** The channels PutAuditEvents sends through, as the Lake keeps them. */
export interface ChannelRegistry {
  /** A channel by id (any account): the route checks ownership and policy itself. */
  channel(id: string): Promise<Channel | undefined>;
  /** Records the outcome of a call in the channel's IngestionStatus. */
  noteIngestion(channel: Channel, status: NonNullable<Channel["ingestion"]>): Promise<void>;
}

function queryValue(query: unknown, name: string): string | undefined {
  const value = isPlainObject(query) ? query[name] : undefined;
  const first = Array.isArray(value) ? (value[0] as unknown) : value;
  return typeof first === "string" ? first : undefined;
}

interface Accepted {
  readonly channel: Channel;
  readonly accepted: ReadonlyArray<{ id: string; eventID: string }>;
  readonly failed: AuditEventFailure[];
}

/** Registers `POST /PutAuditEvents` (the cloudtrail-data service). */
export function registerPutAuditEventsRoute(
  app: FastifyInstance,
  context: RouteContext,
  channels: ChannelRegistry,
): void {
  app.post(
    "/PutAuditEvents",
    { bodyLimit: BODY_BYTES_MAX },
    audited<Accepted>(context, {
      eventName: () => "PutAuditEvents",
      readOnly: () => false,
      errorFormat: "rest-json",
      eventSource: "cloudtrail-data.amazonaws.com",
      unavailableMessage: "Cairn cannot durably record these events right now; nothing was stored. Retry later.",
      handle: (call) => putAuditEvents(call, channels),
      async answer(reply, { channel, accepted, failed }, _seqs, call) {
        await channels.noteIngestion(channel, ingestionStatus(accepted.at(-1)?.eventID, failed, call.nowMs));
        void reply
          .code(200)
          .headers({ "content-type": "application/json", "x-amzn-requestid": call.requestId })
          .send(JSON.stringify({ successful: accepted, failed }));
      },
    }),
  );
}

async function putAuditEvents(call: AuditedCall, channels: ChannelRegistry): Promise<Accepted> {
  const { principal, claim } = await call.authenticate("cloudtrail-data");
  const channelArn = queryValue(call.request.query, "channelArn");
  // Named from the start, so a refused call's record says which channel it was refused on.
  if (channelArn !== undefined) call.note.input = { ChannelArn: channelArn };
  await call.authorize("cloudtrail-data:PutAuditEvents", channelArn?.startsWith("arn:") ? channelArn : "*");
  const channel = await authorizedChannel(call, channels, principal, claim.region);
  const batch = admitAuditEvents(parseRequestBody(call.body).events, {
    accountId: channel.accountId,
    channelArn: channel.arn,
    region: claim.region,
    nowMs: call.nowMs,
    provenance: ingestedBy(principal, "put-audit-events", { channelArn: channel.arn }),
    callerAccountId: principal.accountId,
  });
  // Durable before the answer: the journal fsyncs, then every consumer (Lake included) gets them.
  call.note.items.push(...batch.items);
  // CloudTrail logs PutAuditEvents as a data event of the channel (spec §7.5); so does Cairn, in one
  // atomic group with the events it carried. The events themselves are the records, not repeated here.
  call.note.input = { ChannelArn: channel.arn, AuditEventCount: batch.accepted.length + batch.failed.length };
  call.note.responseElements = { Successful: batch.accepted.length, Failed: batch.failed.length };
  call.note.dataEvent = [{ accountId: channel.accountId, type: "AWS::CloudTrail::Channel", ARN: channel.arn }];
  return { channel, accepted: batch.accepted, failed: batch.failed };
}

/** The channel named by the query, when the caller owns it or its resource policy lets the caller in. */
async function authorizedChannel(
  call: AuditedCall,
  channels: ChannelRegistry,
  principal: Principal,
  region: string,
): Promise<Channel> {
  const channelArn = queryValue(call.request.query, "channelArn");
  const externalId = queryValue(call.request.query, "externalId");
  const channelId = channelArn === undefined ? undefined : channelIdOf(channelArn);
  if (channelId === undefined)
    throw new ApiError("InvalidChannelARN", `channelArn ${channelArn ?? "(missing)"} is not a channel ARN.`);
  if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
    throw new ApiError("InvalidParameterException", "externalId must be 2-1224 characters of [\\w+=,.@:/-].");
  const channel = await channels.channel(channelId);
  if (channel === undefined || channel.region !== region)
    throw new ApiError("ChannelNotFound", `Channel ${channelArn} was not found in ${region}.`);
  const caller = { accountId: principal.accountId, arn: userIdentityOf(principal).arn ?? "" };
  if (principal.accountId !== channel.accountId && !policyAllows(channel.policy, caller, externalId))
    throw new ApiError(
      "ChannelInsufficientPermission",
      `The caller is not allowed to put audit events into ${channel.arn} (no resource policy statement allows it).`,
    );
  return channel;
}

function ingestionStatus(
  lastEventId: string | undefined,
  failed: readonly AuditEventFailure[],
  nowMs: number,
): NonNullable<Channel["ingestion"]> {
  return {
    LatestIngestionAttemptTime: nowMs / 1000,
    LatestIngestionAttemptEventID: lastEventId ?? "",
    ...(lastEventId !== undefined
      ? { LatestIngestionSuccessTime: nowMs / 1000, LatestIngestionSuccessEventID: lastEventId }
      : {}),
    ...(failed.length > 0 ? { LatestIngestionErrorCode: failed[0]!.errorCode } : {}),
  };
}
