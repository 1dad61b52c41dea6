import { randomUUID } from "node:crypto";
import { hasMember, invalidParameter, namedTopicArn, ownTopic } from "./sns-input.js";
import type { SnsCall, SnsDependencies, SnsOperation } from "./sns-operation.js";
import type { SnsMessage } from "./sns-publisher.js";

/** SNS's quotas: a message with its attributes is at most 256 KiB; 10 attributes; a Subject 100 characters. */
const MESSAGE_MAX_BYTES = 262_144;
const ATTRIBUTES_MAX = 10;
const SUBJECT_MAX = 100;
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)(?!(?:aws|amazon)\.)[A-Za-z0-9_.-]{1,256}$/i;
const DATA_TYPE = /^(String|String\.Array|Number|Binary)(\.[A-Za-z0-9_.-]{1,200})?$/;

type Attributes = NonNullable<SnsMessage["attributes"]>;

/**
 * Publish to a topic (docs/reference/sns.md): answered with the MessageId once the call is on
 * record, then delivered to every confirmed subscription as trail notifications are (SnsPublisher,
 * retries included). What an endpoint answers is reported on the server's standard error; the
 * caller's answer never waits for endpoints. Recorded as a data event of the topic, as CloudTrail
 * records SNS's Publish; the message itself is never on record.
 */
export function publishOperation(deps: SnsDependencies): SnsOperation {
  return {
    readOnly: false,
    dataEvent: true,
    requestParameters: (input) => ({
      topicArn: input["TopicArn"],
      subject: input["Subject"],
      messageStructure: input["MessageStructure"],
    }),
    resource: (call) => namedTopicArn(call.input),
    async run(call) {
      refuseOtherTargets(call.input);
      const message = messageOf(call);
      const topic = await ownTopic(deps.store, call, "Publish");
      const messageId = randomUUID();
      return {
        result: { MessageId: messageId },
        responseElements: { messageId },
        afterAnswer: async () => {
          const outcome = await deps.publisher.publish(topic, message, messageId);
          for (const { subscriptionArn, reason } of outcome.failed)
            deps.log(`SNS: message ${messageId} was not delivered to ${subscriptionArn} after retries: ${reason}.\n`);
        },
      };
    },
  };
}

/** Cairn publishes to topics only: no direct endpoint or SMS targets, no FIFO members, no per-protocol JSON. */
function refuseOtherTargets(input: Readonly<Record<string, string>>): void {
  for (const member of ["TargetArn", "PhoneNumber", "MessageGroupId", "MessageDeduplicationId"]) {
    if (input[member] !== undefined)
      throw invalidParameter(member, `Cairn publishes to standard topics only and does not take ${member}.`);
  }
  if (input["MessageStructure"] !== undefined)
    throw invalidParameter("MessageStructure", "Cairn sends the same message to every protocol.");
}

function messageOf(call: SnsCall): SnsMessage {
  const message = call.input["Message"];
  if (message === undefined || message === "") throw invalidParameter("Empty message");
  const subject = call.input["Subject"];
  // SNS: printable ASCII, no line break, starting with a letter, digit or punctuation.
  if (subject !== undefined && (subject.length > SUBJECT_MAX || !/^[!-~][ -~]*$/.test(subject)))
    throw invalidParameter("Subject");
  const attributes = messageAttributes(call.input);
  const bytes = Buffer.byteLength(message, "utf8") + attributesBytes(attributes);
  if (bytes > MESSAGE_MAX_BYTES) throw invalidParameter("Message too long");
  return {
    message,
    ...(subject !== undefined ? { subject } : {}),
    ...(attributes !== undefined ? { attributes } : {}),
  };
}

/**
 * `MessageAttributes.entry.N.Name` with `.Value.DataType` and `.Value.StringValue` (or
 * `.Value.BinaryValue`, base64), numbered from 1; the envelope carries `{Type, Value}` per name.
 */
function messageAttributes(input: Readonly<Record<string, string>>): Attributes | undefined {
  if (!hasMember(input, "MessageAttributes")) return undefined;
  const out: Record<string, { Type: string; Value: string }> = {};
  const used = new Set<string>();
  for (let n = 1; input[`MessageAttributes.entry.${n}.Name`] !== undefined; n++) {
    if (n > ATTRIBUTES_MAX) throw invalidParameter("MessageAttributes", `At most ${ATTRIBUTES_MAX} attributes.`);
    const prefix = `MessageAttributes.entry.${n}`;
    const name = input[`${prefix}.Name`]!;
    const type = input[`${prefix}.Value.DataType`] ?? "";
    const value = input[`${prefix}.Value.${type.startsWith("Binary") ? "BinaryValue" : "StringValue"}`];
    if (!ATTRIBUTE_NAME.test(name) || name in out)
      throw invalidParameter("MessageAttributes", "Invalid attribute name.");
    if (!DATA_TYPE.test(type) || value === undefined || value === "")
      throw invalidParameter("MessageAttributes", `The attribute ${name} needs a DataType and a value.`);
    out[name] = { Type: type, Value: value };
    for (const member of ["Name", "Value.DataType", "Value.StringValue", "Value.BinaryValue"])
      used.add(`${prefix}.${member}`);
  }
  if (Object.keys(input).some((key) => key.startsWith("MessageAttributes.") && !used.has(key)))
    throw invalidParameter("MessageAttributes", "Attributes are numbered from 1, each with its Name.");
  return out;
}

function attributesBytes(attributes: Attributes | undefined): number {
  let bytes = 0;
  for (const [name, { Type, Value }] of Object.entries(attributes ?? {}))
    bytes += Buffer.byteLength(name + Type + Value, "utf8");
  return bytes;
}
