/** The SNS API on Cairn's endpoint: topics, http/https subscriptions and Publish, in the caller's account and region. */
import type { SnsDependencies, SnsOperation } from "./sns-operation.js";
import { publishOperation } from "./sns-publish.js";
import { subscriptionOperations } from "./sns-subscriptions.js";

export { confirmFromSubscribeUrl } from "./sns-subscriptions.js";
import { topicOperations } from "./sns-topics.js";

export type { SnsDependencies, SnsOperation, SnsResult, SnsXml } from "./sns-operation.js";
export { XmlEntries } from "./sns-operation.js";
export { sendSubscriptionConfirmation } from "./subscription-confirmation.js";
export { SnsPublisher } from "./sns-publisher.js";

export function snsOperations(deps: SnsDependencies): ReadonlyMap<string, SnsOperation> {
  return new Map(
    Object.entries({ ...topicOperations(deps), ...subscriptionOperations(deps), Publish: publishOperation(deps) }),
  );
}
