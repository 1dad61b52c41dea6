import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildActivityRecord, type ActivityInput } from "../../src/normalize/build-activity-record.js";

const base: ActivityInput = {
  data: {
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "alice" },
    eventSource: "app.example.com",
    eventName: "Login",
    eventTime: "2026-12-06T10:00:00.123Z",
    UID: "uid-1",
    recipientAccountId: "123456789012",
  },
  eventTimeSeconds: "2026-12-06T10:00:00",
  eventId: "6f1c8b0e-5a43-4d8e-9a51-0c3f7d2e9b11",
  awsRegion: "us-east-1",
  recipientAccountId: "123456789012",
  channelArn: "arn:aws:cloudtrail:us-east-1:123456789012:channel/0b7e8d1c-2f3a-4b5c-9d6e-7f8a9b0c1d2e",
  ingestedAtMs: Date.UTC(2026, 11, 6, 10, 0, 5, 700),
};

describe("buildActivityRecord (PutAuditEvents through normalize)", () => {
  it("writes the ActivityAuditLog record CloudTrail stores, the event as sent under eventData", () => {
    const built = buildActivityRecord(base);
    assert.ok(built.ok);
    assert.deepEqual(JSON.parse(built.json), {
      eventVersion: "1.0",
      eventCategory: "ActivityAuditLog",
      eventType: "ActivityLog",
      eventID: base.eventId,
      eventTime: "2026-12-06T10:00:00Z",
      awsRegion: "us-east-1",
      recipientAccountId: "123456789012",
      metadata: { ingestionTime: "2026-12-06T10:00:05Z", channelARN: base.channelArn },
      eventData: base.data,
    });
  });

  it("refuses an event over CloudTrail's 256 KB event cap, as every other record", () => {
    const details = { blob: "x".repeat(300 * 1024) };
    const built = buildActivityRecord({
      ...base,
      data: { ...base.data, userIdentity: { type: "CustomUser", principalId: "alice", details } },
    });
    assert.equal(built.ok, false);
    assert.equal(!built.ok && built.errorCode, "event_too_large");
  });

  it("refuses an event nested deeper than the pipeline's limit, which would otherwise reach every consumer", () => {
    let deep: Record<string, unknown> = {};
    for (let level = 0; level < 40; level++) deep = { level: deep };
    const built = buildActivityRecord({ ...base, data: { ...base.data, requestParameters: deep } });
    assert.equal(!built.ok && built.errorCode, "nesting_too_deep");
  });
});
