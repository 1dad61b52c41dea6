import { randomUUID } from "node:crypto";
import type { ConfirmationRequest } from "./sns-operation.js";

/** SNS waits 15 s for an endpoint; so does Cairn, and it follows no redirect (neither does SNS). */
const ENDPOINT_TIMEOUT_MS = 15_000;

/** The standard SubscriptionConfirmation message (without SNS's signature: docs/reference/sns.md). */
function confirmationMessage(request: ConfirmationRequest): Record<string, string> {
  const { topic, token } = request;
  const subscribeUrl = new URL(request.endpointUrl);
  subscribeUrl.pathname = "/";
  subscribeUrl.search = new URLSearchParams({
    Action: "ConfirmSubscription",
    TopicArn: topic.arn,
    Token: token,
  }).toString();
  return {
    Type: "SubscriptionConfirmation",
    MessageId: randomUUID(),
    Token: token,
    TopicArn: topic.arn,
    Message:
      `You have chosen to subscribe to the topic ${topic.arn}.\n` +
      "To confirm the subscription, visit the SubscribeURL included in this message.",
    SubscribeURL: subscribeUrl.toString(),
    Timestamp: new Date(request.nowMs).toISOString(),
  };
}

/**
 * POSTs the SubscriptionConfirmation to the endpoint, once, as SNS's headers and body have it. An
 * endpoint that does not answer 2xx is reported through `log` (one line, no token) and the
 * subscription stays pending: Subscribe again to resend.
 */
export function sendSubscriptionConfirmation(
  log: (line: string) => void,
  /** Aborted as the server closes: a slow endpoint does not hold the process open. */
  shutdown: AbortSignal,
): (request: ConfirmationRequest) => Promise<void> {
  return async (request) => {
    const message = confirmationMessage(request);
    const endpoint = request.subscription.endpoint;
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(ENDPOINT_TIMEOUT_MS), shutdown]),
        headers: {
          "content-type": "text/plain; charset=UTF-8",
          "user-agent": "Amazon Simple Notification Service Agent",
          "x-amz-sns-message-type": "SubscriptionConfirmation",
          "x-amz-sns-message-id": message["MessageId"]!,
          "x-amz-sns-topic-arn": request.topic.arn,
        },
        body: JSON.stringify(message, null, 2),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) {
        log(
          `SNS: the endpoint of ${request.subscription.arn} answered the SubscriptionConfirmation with HTTP ${response.status}.\n`,
        );
      }
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause's.
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const reason = String(cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : error));
      log(`SNS: the SubscriptionConfirmation for ${request.subscription.arn} was not delivered: ${reason}.\n`);
    }
  };
}
