import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  admitAuditEvents,
  auditEventDedupKey,
  auditEventId,
  type AuditEventTarget,
} from "../../src/capture/audit-events/audit-event-batch.js";
import { dedupKeyOf, normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { recentRecords } from "../helpers/sample-records.js";

/**
 * Issue #12: a retried PutAuditEvents stores each event once. Each admitted audit event carries a
 * journal dedup key made of (channel, calling account, UID) and an eventID derived from that key, so
 * the retry's answer is the first one's.
 */

const OWNER = "111122223333";
const CHANNEL = `arn:aws:cloudtrail:us-east-1:${OWNER}:channel/0b5e9a52-6b44-4c1f-9d7e-3f1f2a6b8c10`;
const OTHER_CHANNEL = `arn:aws:cloudtrail:us-east-1:${OWNER}:channel/7d1c2f3e-0a9b-4e8d-8c7b-6a5f4e3d2c1b`;
const V8_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function target(overrides: Partial<AuditEventTarget> = {}): AuditEventTarget {
  return {
    accountId: OWNER,
    channelArn: CHANNEL,
    region: "us-east-1",
    nowMs: Date.UTC(2026, 10, 20, 10, 0, 5),
    provenance: { source: "put-audit-events", channelArn: CHANNEL },
    callerAccountId: OWNER,
    ...overrides,
  };
}

function eventData(uid: string, eventName = "OpenDoor"): string {
  return JSON.stringify({
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "alice" },
    eventSource: "doors.example.com",
    eventName,
    eventTime: "2026-11-20T10:00:00Z",
    UID: uid,
    recipientAccountId: OWNER,
  });
}

describe("PutAuditEvents dedup keys and eventIDs", () => {
  it("derives the eventID from SHA-256 of the key as a version 8 UUID", () => {
    const key = auditEventDedupKey(CHANNEL, OWNER, "uid-1");
    assert.equal(key, `cloudtrail-data:PutAuditEvents:${JSON.stringify([CHANNEL, OWNER, "uid-1"])}`);
    const id = auditEventId(key);
    assert.match(id, V8_UUID);
    // Every bit but the 6 of version and variant is the digest's.
    const digest = createHash("sha256").update(key).digest("hex").slice(0, 32);
    const hex = id.replaceAll("-", "");
    assert.equal(hex.slice(0, 12), digest.slice(0, 12));
    assert.equal(hex.slice(13, 16), digest.slice(13, 16));
    assert.equal(parseInt(hex[16]!, 16) & 0x3, parseInt(digest[16]!, 16) & 0x3);
    assert.equal(hex.slice(17), digest.slice(17));
    assert.equal(auditEventId(key), id, "the same key always gives the same eventID");
  });

  it("keeps channels, accounts and UIDs apart, without ambiguous concatenations", () => {
    const keys = [
      auditEventDedupKey(CHANNEL, OWNER, "uid-1"),
      auditEventDedupKey(OTHER_CHANNEL, OWNER, "uid-1"),
      auditEventDedupKey(CHANNEL, "444455556666", "uid-1"),
      auditEventDedupKey(CHANNEL, OWNER, "uid-2"),
      auditEventDedupKey(`${CHANNEL}"`, OWNER, "uid-1"),
      auditEventDedupKey(CHANNEL, OWNER, '","uid-1'),
    ];
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(keys.map(auditEventId)).size, keys.length);
  });

  it("never collides with the keys of /ingest, the proxy and imports", () => {
    const admitted = admitAuditEvents([{ id: "a", eventData: eventData("uid-1") }], target());
    const key = admitted.items[0]!.dedupKey;
    assert.equal(key, auditEventDedupKey(CHANNEL, OWNER, "uid-1"));
    // Those keys are all dedupKeyOf's JSON arrays (the proxy and imports normalise as /ingest does).
    const nowMs = Date.now();
    for (const raw of recentRecords(20, { accountId: OWNER, nowMs })) {
      const ingested = normalizeIngestedRecord(raw, { receivedAtMs: nowMs });
      assert.ok(ingested.ok, JSON.stringify(raw));
      assert.equal(ingested.dedupKey, dedupKeyOf(ingested.record));
      assert.ok(ingested.dedupKey.startsWith("["), ingested.dedupKey);
      assert.ok(Array.isArray(JSON.parse(ingested.dedupKey)));
    }
    assert.ok(!key!.startsWith("["), key);
  });

  it("gives a re-sent event the key and eventID of the first send, and each event its own", () => {
    const events = [
      { id: "a", eventData: eventData("uid-1") },
      { id: "b", eventData: eventData("uid-2") },
    ];
    const first = admitAuditEvents(events, target());
    const retry = admitAuditEvents(events, target({ nowMs: target().nowMs + 30_000 }));
    assert.deepEqual(retry.accepted, first.accepted);
    assert.deepEqual(
      retry.items.map((item) => item.dedupKey),
      first.items.map((item) => item.dedupKey),
    );
    assert.notEqual(first.accepted[0]!.eventID, first.accepted[1]!.eventID);
    for (const [i, item] of first.items.entries()) {
      const record = JSON.parse(item.json) as { eventID: string };
      assert.equal(record.eventID, first.accepted[i]!.eventID);
      assert.equal(record.eventID, auditEventId(item.dedupKey!));
    }
  });

  it("treats another event with a known UID of the channel as a retry, and another channel's as new", () => {
    const first = admitAuditEvents([{ id: "a", eventData: eventData("uid-1") }], target());
    const reused = admitAuditEvents([{ id: "z", eventData: eventData("uid-1", "CloseDoor") }], target());
    assert.equal(reused.items[0]!.dedupKey, first.items[0]!.dedupKey);
    assert.equal(reused.accepted[0]!.eventID, first.accepted[0]!.eventID);
    const elsewhere = admitAuditEvents(
      [{ id: "a", eventData: eventData("uid-1") }],
      target({ channelArn: OTHER_CHANNEL, provenance: { source: "put-audit-events", channelArn: OTHER_CHANNEL } }),
    );
    assert.notEqual(elsewhere.items[0]!.dedupKey, first.items[0]!.dedupKey);
    assert.notEqual(elsewhere.accepted[0]!.eventID, first.accepted[0]!.eventID);
    const partner = admitAuditEvents(
      [{ id: "a", eventData: eventData("uid-1") }],
      target({ callerAccountId: "444455556666" }),
    );
    assert.notEqual(partner.accepted[0]!.eventID, first.accepted[0]!.eventID);
  });

  it("refuses an event whose UID is empty, which could not tell a retry from a new event", () => {
    const admitted = admitAuditEvents([{ id: "a", eventData: eventData("") }], target());
    assert.deepEqual(admitted.items, []);
    assert.deepEqual(
      admitted.failed.map((failure) => failure.errorCode),
      ["FieldNotFound"],
    );
  });
});
