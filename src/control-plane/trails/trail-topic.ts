/** A trail's SNS topic (spec §2.4): which topic `SnsTopicName` names, and whether the trail may publish to it. */
import { ApiError } from "../../lib/api-error.js";
import type { SnsStore, SnsTopic } from "../../stores/sns/index.js";
import type { TrailConfig } from "../../stores/trails/index.js";
import type { SnsPublisher } from "../sns/sns-publisher.js";
import { topicAdmitsPublisher } from "../sns/topic-publishers.js";

const SNS_ARN = /^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})$/;

/** CloudTrail's service principal, as a topic policy names it. */
const CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com";

/** The topic `SnsTopicName` names: an ARN as given, a name as the trail's account's topic in its home region. */
export function trailTopicOf(trail: TrailConfig): { name: string; arn: string } | undefined {
  const given = trail.snsTopicName;
  if (given === undefined) return undefined;
  const match = SNS_ARN.exec(given);
  if (match !== null) return { name: match[1]!, arn: given };
  return { name: given, arn: `arn:aws:sns:${trail.homeRegion}:${trail.accountId}:${given}` };
}

/**
 * The trail's topic when the trail may publish to it now: it exists and its policy admits CloudTrail
 * publishing for the trail (topicAdmitsPublisher). Else why not.
 */
async function publishableTopic(
  topics: Pick<SnsStore, "getTopic">,
  trail: TrailConfig,
): Promise<{ topic: SnsTopic } | { problem: string }> {
  const named = trailTopicOf(trail);
  if (named === undefined) return { problem: "the trail has no topic" };
  const topic = await topics.getTopic(named.arn);
  if (topic === undefined) return { problem: `the topic ${named.arn} does not exist` };
  const publisher = { service: CLOUDTRAIL_SERVICE, accountId: trail.accountId, sourceArn: trail.trailArn };
  if (!topicAdmitsPublisher(topic, publisher))
    return { problem: `the policy of ${named.arn} does not let the trail publish` };
  return { topic };
}

/**
 * CreateTrail/UpdateTrail's check of the topic the call names, with CloudTrail's message (moto's too):
 * a missing topic and one whose policy refuses get one answer, so another account's topic names
 * cannot be probed through it.
 */
export async function checkTrailTopic(
  topics: Pick<SnsStore, "getTopic"> | undefined,
  trail: TrailConfig,
): Promise<void> {
  if (trail.snsTopicName === undefined) return;
  const found = topics === undefined ? undefined : await publishableTopic(topics, trail);
  if (found === undefined || "problem" in found)
    throw new ApiError(
      "InsufficientSnsTopicPolicyException",
      "SNS Topic does not exist or the topic policy is incorrect!",
    );
}

/**
 * Publishes a trail notification (`message`, spec §2.4) to the trail's topic, checked again now (it
 * may have been deleted, or its policy changed, since the trail named it): undefined once every
 * confirmed subscriber got it, else why not, for LatestNotificationError. No endpoint URL is named.
 */
export async function publishTrailNotification(
  topics: Pick<SnsStore, "getTopic">,
  publisher: SnsPublisher,
  trail: TrailConfig,
  message: string,
): Promise<string | undefined> {
  const found = await publishableTopic(topics, trail);
  if ("problem" in found) return `Cairn did not publish: ${found.problem}.`;
  const outcome = await publisher.publish(found.topic, { message });
  const [first] = outcome.failed;
  if (first === undefined) return undefined;
  const total = outcome.failed.length + outcome.delivered;
  return `${outcome.failed.length} of ${total} subscriptions of ${found.topic.arn} were not reached after retries (${first.subscriptionArn}: ${first.reason}).`;
}
