import { ApiError } from "../../lib/api-error.js";
import type { SnsTopic } from "../../stores/sns/index.js";
import {
  assertOwnTopic,
  formMap,
  hasMember,
  invalidParameter,
  namedTopicArn,
  notFound,
  ownTopic,
  pageAfter,
  pageOf,
  required,
  topicArnOf,
  topicName,
} from "./sns-input.js";
import { XmlEntries, type SnsCall, type SnsDependencies, type SnsOperation } from "./sns-operation.js";
import { checkedAttribute, settableAttribute, topicAttributes } from "./sns-topic-attributes.js";

/** SNS's default quota of standard topics per account (per region). */
const TOPICS_PER_ACCOUNT_MAX = 100_000;
/** ListTopics answers up to 100 topics a page, as SNS does. */
const TOPICS_PAGE = 100;

const byTopicArn = (input: Readonly<Record<string, string>>) => ({ topicArn: input["TopicArn"] });

export function topicOperations(deps: SnsDependencies): Record<string, SnsOperation> {
  const { store } = deps;
  return {
    CreateTopic: {
      readOnly: false,
      requestParameters: (input) => ({ name: input["Name"] }),
      resource: (call) => topicArnOf(call, topicName(call.input)),
      run: (call) => createTopic(deps, call),
    },
    DeleteTopic: {
      readOnly: false,
      requestParameters: byTopicArn,
      resource: (call) => namedTopicArn(call.input),
      async run(call) {
        const arn = namedTopicArn(call.input);
        assertOwnTopic(call, arn, "DeleteTopic");
        // As SNS: deleting a topic that does not exist succeeds.
        await store.deleteTopic(arn);
        return { result: null, responseElements: null };
      },
    },
    ListTopics: {
      readOnly: true,
      requestParameters: () => ({}),
      resource: () => "*",
      async run(call) {
        const after = pageAfter(call.input, topicArnOf(call, ""));
        const page = pageOf(await store.listTopics(call, after, TOPICS_PAGE + 1), TOPICS_PAGE);
        return {
          result: { Topics: page.items.map((topic) => ({ TopicArn: topic.arn })), NextToken: page.next },
          responseElements: null,
        };
      },
    },
    GetTopicAttributes: {
      readOnly: true,
      requestParameters: byTopicArn,
      resource: (call) => namedTopicArn(call.input),
      async run(call) {
        const topic = await ownTopic(store, call, "GetTopicAttributes");
        const counts = await store.countSubscriptions(topic.arn);
        return { result: { Attributes: new XmlEntries(topicAttributes(topic, counts)) }, responseElements: null };
      },
    },
    SetTopicAttributes: {
      readOnly: false,
      requestParameters: (input) => ({
        topicArn: input["TopicArn"],
        attributeName: input["AttributeName"],
        attributeValue: input["AttributeValue"],
      }),
      resource: (call) => namedTopicArn(call.input),
      async run(call) {
        const name = settableAttribute(required(call.input, "AttributeName"));
        const raw = call.input["AttributeValue"] ?? "";
        const topic = await ownTopic(store, call, "SetTopicAttributes");
        // An empty Policy puts the default policy back, as SNS does.
        const change =
          name === "DisplayName"
            ? { displayName: checkedAttribute(name, raw) }
            : { policy: raw === "" ? null : checkedAttribute(name, raw) };
        if (!(await store.updateTopic(topic.arn, change))) throw notFound("Topic");
        return { result: null, responseElements: null };
      },
    },
  };
}

async function createTopic(
  deps: SnsDependencies,
  call: SnsCall,
): Promise<{ result: { TopicArn: string }; responseElements: Record<string, unknown> }> {
  const name = topicName(call.input);
  for (const member of ["Tags", "DataProtectionPolicy"]) {
    if (hasMember(call.input, member) || call.input[member] !== undefined) {
      throw invalidParameter(member, `Cairn does not keep a topic's ${member} yet.`);
    }
  }
  const attributes = new Map<string, string>();
  for (const [key, value] of formMap(call.input, "Attributes")) {
    const attribute = settableAttribute(key);
    attributes.set(attribute, checkedAttribute(attribute, value));
  }
  const arn = topicArnOf(call, name);
  const wanted: SnsTopic = {
    arn,
    accountId: call.accountId,
    region: call.region,
    name,
    displayName: attributes.get("DisplayName") ?? "",
    ...(attributes.has("Policy") ? { policy: attributes.get("Policy")! } : {}),
    createdAtMs: call.nowMs,
  };
  if (
    (await deps.store.getTopic(arn)) === undefined &&
    (await deps.store.countTopics(call)) >= TOPICS_PER_ACCOUNT_MAX
  ) {
    throw new ApiError("TopicLimitExceeded", "Topic limit exceeded");
  }
  const { topic } = await deps.store.createTopic(wanted);
  // Idempotent per name, as SNS: the same name with other attributes is refused, not changed.
  const differs =
    (attributes.has("DisplayName") && topic.displayName !== wanted.displayName) ||
    (attributes.has("Policy") && topic.policy !== wanted.policy);
  if (differs) throw invalidParameter("Attributes", "Topic already exists with different attributes");
  return { result: { TopicArn: topic.arn }, responseElements: { topicArn: topic.arn } };
}
