import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatEventsTable, parseAttribute } from "../../src/cli/commands/lookup.js";
import { formatTailLine } from "../../src/cli/commands/tail.js";
import { parseTimeArgument } from "../../src/cli/time-argument.js";

const NOW_MS = Date.parse("2024-05-01T12:00:00Z");

describe("parseTimeArgument", () => {
  it("accepts ISO-8601, epoch seconds, now and relative times", () => {
    assert.equal(parseTimeArgument("2024-04-30T00:00:00Z", NOW_MS).toISOString(), "2024-04-30T00:00:00.000Z");
    assert.equal(parseTimeArgument("1714564800", NOW_MS).toISOString(), "2024-05-01T12:00:00.000Z");
    assert.equal(parseTimeArgument("now", NOW_MS).getTime(), NOW_MS);
    assert.equal(parseTimeArgument("-15m", NOW_MS).toISOString(), "2024-05-01T11:45:00.000Z");
    assert.equal(parseTimeArgument("-2h", NOW_MS).toISOString(), "2024-05-01T10:00:00.000Z");
    assert.equal(parseTimeArgument("-7d", NOW_MS).toISOString(), "2024-04-24T12:00:00.000Z");
  });

  it("refuses anything else, listing the accepted forms", () => {
    for (const text of ["yesterday", "15m", "-2w", "2024-13-45T00:00:00Z", ""]) {
      assert.throws(() => parseTimeArgument(text, NOW_MS), /must be ISO-8601/, text);
    }
  });
});

describe("parseAttribute", () => {
  it("splits at the first = and checks the key", () => {
    assert.deepEqual(parseAttribute("EventName=CreateTrail"), {
      AttributeKey: "EventName",
      AttributeValue: "CreateTrail",
    });
    assert.deepEqual(parseAttribute("ResourceName=a=b"), { AttributeKey: "ResourceName", AttributeValue: "a=b" });
    assert.throws(() => parseAttribute("eventname=x"), /Key one of EventId/);
    assert.throws(() => parseAttribute("EventName"), /must be Key=Value/);
  });
});

describe("output formats", () => {
  it("prints a lookup table with the error code taken from the record", () => {
    const table = formatEventsTable([
      {
        EventId: "e-1",
        EventName: "CreateTrail",
        EventSource: "cloudtrail.amazonaws.com",
        EventTime: new Date("2024-05-01T11:00:00Z"),
        Username: "alice",
        ReadOnly: "false",
        CloudTrailEvent: JSON.stringify({ errorCode: "AccessDenied" }),
      },
    ]);
    for (const text of [
      "Time",
      "Event ID",
      "2024-05-01T11:00:00Z",
      "CreateTrail",
      "alice",
      "false",
      "AccessDenied",
      "e-1",
    ]) {
      assert.ok(table.includes(text), text);
    }
    assert.doesNotMatch(table, new RegExp(String.fromCharCode(27)), "no colour codes");
    assert.equal(formatEventsTable([]), "No events found.\n");
  });

  it("prints one tail line per record, naming the user", () => {
    const line = formatTailLine({
      eventTime: "2024-05-01T11:00:00Z",
      eventSource: "iam.amazonaws.com",
      eventName: "CreateUser",
      userIdentity: { type: "AssumedRole", arn: "arn:aws:sts::123456789012:assumed-role/ops/session-1" },
      errorCode: "AccessDenied",
    });
    assert.match(line, /^2024-05-01T11:00:00Z +iam\.amazonaws\.com +CreateUser +session-1 +AccessDenied$/);
    assert.match(formatTailLine({ eventName: "X", userIdentity: { type: "Root" } }), /^- +- +X +root$/);
  });
});
