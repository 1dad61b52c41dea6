import { randomUUID } from "node:crypto";
import type { FastifyRequest, RouteHandlerMethod } from "fastify";
import { auditRecordOf } from "../../capture/self-audit/audit-record.js";
import { JournalUnavailableError } from "../../journal/index.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { escapeXml } from "../../lib/xml-text.js";
import { SELF_AUDIT_PROVENANCE } from "../../model/provenance.js";
import type { SnsSubscription } from "../../stores/sns/index.js";
import type { RouteContext } from "../audited-route.js";
import { senderOf, SNS_NAMESPACE } from "../send-error.js";
import type { ApiService } from "./cloudtrail-route.js";

const sendError = senderOf("sns-xml");

export interface SubscribeUrlOptions {
  readonly context: RouteContext;
  /** Confirms the subscription the query's TopicArn and Token name (the SNS control plane's confirmFromSubscribeUrl). */
  readonly confirm: (query: Readonly<Record<string, unknown>>, nowMs: number) => Promise<SnsSubscription>;
}

/** `GET /?Action=ConfirmSubscription&…`: what a SubscriptionConfirmation's SubscribeURL asks. */
function isSubscribeUrl(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  return request.method === "GET" && query?.["Action"] === "ConfirmSubscription";
}

/**
 * The SubscribeURL of SNS on Cairn's endpoint: a subscriber confirms by fetching it, without
 * signing, as in SNS (docs/reference/sns.md). The token in the URL is the credential. A confirmation
 * is recorded (eventSource sns.amazonaws.com, ConfirmSubscription, caller Unknown, in the topic's
 * account) before it is answered with ConfirmSubscriptionResponse; the token is never on record.
 * A refused GET is answered and not recorded: anyone can send those, and a record each would let
 * them fill the journal (a 512-bit token is not found by trying).
 */
export function subscribeUrlService(options: SubscribeUrlOptions): ApiService {
  const { context } = options;
  const handler: RouteHandlerMethod = async (request, reply) => {
    const requestId = randomUUID();
    const query = (request.query ?? {}) as Record<string, unknown>;
    let confirmed: SnsSubscription;
    try {
      confirmed = await options.confirm(query, context.clock.nowMs());
    } catch (error) {
      if (!isApiError(error)) context.onInternalError(error);
      sendError(reply, requestId, isApiError(error) ? error : new ApiError("InternalFailure", "Internal failure"));
      return reply;
    }
    try {
      await context.journal.append([
        { json: recordOf(request, context, confirmed, requestId), provenance: SELF_AUDIT_PROVENANCE },
      ]);
    } catch (error) {
      if (!(error instanceof JournalUnavailableError)) context.onInternalError(error);
      const message = "Cairn cannot durably record this call right now. Retry later.";
      sendError(reply, requestId, new ApiError("ServiceUnavailableException", message, { "retry-after": "1" }));
      return reply;
    }
    const arn = escapeXml(confirmed.arn);
    return reply
      .code(200)
      .headers({ "content-type": "text/xml", "x-amzn-requestid": requestId })
      .send(
        `<ConfirmSubscriptionResponse xmlns="${SNS_NAMESPACE}"><ConfirmSubscriptionResult>` +
          `<SubscriptionArn>${arn}</SubscriptionArn></ConfirmSubscriptionResult>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>`,
      );
  };
  return { handler, accepts: isSubscribeUrl };
}

function recordOf(
  request: FastifyRequest,
  context: RouteContext,
  confirmed: SnsSubscription,
  requestId: string,
): string {
  const [, , , region, accountId] = confirmed.topicArn.split(":");
  const topic = { accountId: accountId!, type: "AWS::SNS::Topic", ARN: confirmed.topicArn };
  return auditRecordOf(
    request,
    { ...context.audit, accountId: accountId!, region: region! },
    {
      eventSource: "sns.amazonaws.com",
      eventName: "ConfirmSubscription",
      attribution: {},
      requestId,
      readOnly: false,
      input: { TopicArn: confirmed.topicArn },
      responseElements: { subscriptionArn: confirmed.arn },
      resources: [topic],
    },
  ).json;
}
