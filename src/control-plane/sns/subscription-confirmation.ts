import { randomUUID } from "node:crypto";
import { postToEndpoint } from "./endpoint-post.js";
import type { ConfirmationRequest } from "./sns-operation.js";

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
    const failure = await postToEndpoint(
      request.subscription.endpoint,
      {
        "x-amz-sns-message-type": "SubscriptionConfirmation",
        "x-amz-sns-message-id": message["MessageId"]!,
        "x-amz-sns-topic-arn": request.topic.arn,
      },
      JSON.stringify(message, null, 2),
      shutdown,
    );
    if (failure !== undefined) {
      log(`SNS: the SubscriptionConfirmation for ${request.subscription.arn} was not delivered: ${failure}.\n`);
    }
  };
}
