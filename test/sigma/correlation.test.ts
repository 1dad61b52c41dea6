import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRuleFile, SigmaEngine, type SigmaMatch } from "../../src/sigma/index.js";
import {
  CORRELATION_ENTRIES_MAX,
  CORRELATION_GROUPS_MAX,
  CorrelationState,
} from "../../src/sigma/correlation-state.js";
import type { CorrelationRule } from "../../src/sigma/sigma-rule.js";

const BASE = `title: Failed console login
id: failed-login
name: failed_login
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection
---
title: Successful console login
id: good-login
name: good_login
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Success
    condition: selection
`;

function engineOf(correlation: string): SigmaEngine {
  const { rules, errors } = parseRuleFile("c.yml", `${BASE}---\n${correlation}`);
  assert.deepEqual(errors, []);
  const engine = new SigmaEngine(rules);
  assert.deepEqual(engine.errors, []);
  return engine;
}

let sequence = 0;
function login(user: string, second: number, ok: boolean, ip = "198.51.100.1"): Record<string, unknown> {
  return {
    eventID: `e${++sequence}`,
    eventTime: new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString().replace(".000", ""),
    eventName: "ConsoleLogin",
    sourceIPAddress: ip,
    userIdentity: { userName: user },
    ...(ok ? { responseElements: { ConsoleLogin: "Success" } } : { errorMessage: "Failed authentication" }),
  };
}

function run(engine: SigmaEngine, records: readonly unknown[]): SigmaMatch[] {
  return [...records.flatMap((record) => engine.offer(record)), ...engine.flush()];
}

const EVENT_COUNT = `title: Brute force
id: brute-force
level: high
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - userIdentity.userName
    timespan: 1m
    condition:
        gte: 3
`;

describe("Sigma correlations", () => {
  it("event_count fires once the count holds within the timespan, per group", () => {
    const engine = engineOf(EVENT_COUNT);
    const records = [
      login("alice", 0, false),
      login("bob", 1, false),
      login("alice", 10, false),
      login("bob", 70, false), // bob's first failure is out of the window by now
      login("alice", 20, false),
      login("bob", 71, false),
    ];
    const matches = run(engine, records);
    assert.deepEqual(
      matches.map((m) => [m.ruleId, m.eventID, m.groupBy]),
      [["brute-force", records[4]!["eventID"], { "userIdentity.userName": "alice" }]],
    );
    assert.equal(matches[0]!.events?.length, 3);
    assert.equal(matches[0]!.level, "high");
    // The base rule is read by the correlation only (generate: false), so it reports nothing itself.
    assert.ok(matches.every((m) => m.kind === "correlation"));
  });

  it("reports the correlated rules' own matches too with generate: true", () => {
    const engine = engineOf(EVENT_COUNT.replace("timespan: 1m", "timespan: 1m\n    generate: true"));
    const matches = run(engine, [login("alice", 0, false)]);
    assert.deepEqual(
      matches.map((m) => m.ruleId),
      ["failed-login"],
    );
  });

  it("event_count with an upper bound decides each window when it ends", () => {
    const engine = engineOf(EVENT_COUNT.replace("gte: 3", "lt: 2"));
    const matches = run(engine, [
      login("alice", 0, false),
      login("alice", 10, false),
      login("bob", 20, false),
      login("carol", 200, false), // makes alice's and bob's windows end
    ]);
    // bob had 1 failure (< 2); alice had 2; carol's window is decided at flush.
    assert.deepEqual(matches.map((m) => m.groupBy?.["userIdentity.userName"]).sort(), ["bob", "carol"]);
  });

  it("value_count counts distinct values of a field per group", () => {
    const engine = engineOf(
      EVENT_COUNT.replace("type: event_count", "type: value_count").replace(
        "gte: 3",
        "field: sourceIPAddress\n        gte: 3",
      ),
    );
    const same = run(engine, [login("alice", 0, false), login("alice", 1, false), login("alice", 2, false)]);
    assert.deepEqual(same, []);
    const spread = run(engine, [
      login("alice", 100, false, "192.0.2.1"),
      login("alice", 101, false, "192.0.2.2"),
      login("alice", 102, false, "192.0.2.1"),
      login("alice", 103, false, "192.0.2.3"),
    ]);
    assert.equal(spread.length, 1);
    assert.equal(spread[0]!.eventTime, "2024-01-01T00:01:43Z");
  });

  const TEMPORAL = `title: Failure then success
id: fail-then-success
correlation:
    type: temporal_ordered
    rules:
        - failed_login
        - good_login
    group-by:
        - userIdentity.userName
    timespan: 30s
`;

  it("temporal_ordered needs the rules in order within the timespan", () => {
    const engine = engineOf(TEMPORAL);
    const matches = run(engine, [
      login("alice", 0, true), // success before any failure: no chain
      login("alice", 5, false),
      login("bob", 6, true), // another group
      login("alice", 50, true), // too late: 45 s after the failure
      login("alice", 60, false),
      login("alice", 70, true),
    ]);
    assert.deepEqual(
      matches.map((m) => [m.eventTime, m.groupBy?.["userIdentity.userName"]]),
      [["2024-01-01T00:01:10Z", "alice"]],
    );
  });

  it("temporal needs every rule within the timespan, in any order", () => {
    const engine = engineOf(TEMPORAL.replace("temporal_ordered", "temporal"));
    const matches = run(engine, [login("alice", 0, true), login("alice", 5, false)]);
    assert.equal(matches.length, 1);
  });

  it("resolves group-by aliases per rule", () => {
    const engine = engineOf(
      TEMPORAL.replace("- userIdentity.userName", "- user").concat(
        "    aliases:\n        user:\n            failed_login: userIdentity.userName\n            good_login: requestParameters.who\n",
      ),
    );
    const success = { ...login("x", 3, true), requestParameters: { who: "alice" } };
    assert.equal(run(engine, [login("alice", 0, false), success]).length, 1);
  });

  it("turns a Sigma 1 `| count() by field > N` with a timeframe into an event_count correlation", () => {
    const { rules } = parseRuleFile(
      "old.yml",
      `title: Many failures
id: many
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        errorMessage: Failed authentication
    timeframe: 10m
    condition: selection | count() by sourceIPAddress > 2
`,
    );
    assert.deepEqual(
      rules.map((rule) => [rule.kind, rule.id]),
      [
        ["detection", "many#events"],
        ["correlation", "many"],
      ],
    );
    const engine = new SigmaEngine(rules);
    const matches = run(
      engine,
      [1, 2, 3].map((s) => login("a", s, false)),
    );
    assert.deepEqual(
      matches.map((m) => [m.ruleId, m.groupBy]),
      [["many", { sourceIPAddress: "198.51.100.1" }]],
    );
  });

  it("refuses a correlation whose rules are missing or are correlations", () => {
    const { rules } = parseRuleFile("c.yml", `${BASE}---\n${EVENT_COUNT.replace("- failed_login", "- nobody")}`);
    const engine = new SigmaEngine(rules);
    assert.match(engine.errors[0]!.reason, /'nobody' is not loaded/);
    const chained = `${BASE}---\n${EVENT_COUNT}---\n${EVENT_COUNT.replace("id: brute-force", "id: chain").replace("- failed_login", "- brute-force")}`;
    const second = new SigmaEngine(parseRuleFile("c.yml", chained).rules);
    assert.match(second.errors[0]!.reason, /chained correlations are not supported/);
  });

  it("refuses malformed correlation sections with the reason", () => {
    const reasons = [
      [EVENT_COUNT.replace("timespan: 1m", "timespan: 1 week"), /not a timespan/],
      [EVENT_COUNT.replace("type: event_count", "type: value_sum"), /type 'value_sum' is not supported/],
      [EVENT_COUNT.replace("type: event_count", "type: value_count"), /needs condition.field/],
      [EVENT_COUNT.replace("gte: 3", "gte: 1000000"), /above Cairn's limit/],
      [EVENT_COUNT.replace("gte: 3", "between: 3"), /'between: 3' is not supported/],
    ] as const;
    for (const [yaml, reason] of reasons) {
      const { errors } = parseRuleFile("c.yml", `${BASE}---\n${yaml}`);
      assert.match(errors[0]?.reason ?? "", reason);
    }
  });

  it(`keeps at most ${CORRELATION_GROUPS_MAX} groups, dropping the least recently active`, () => {
    const engine = engineOf(EVENT_COUNT.replace("timespan: 1m", "timespan: 1d").replace("gte: 3", "gte: 2"));
    // One failure for each of many users, then a second failure for the first user (dropped) and the last.
    for (let i = 0; i <= CORRELATION_GROUPS_MAX; i++) engine.offer(login(`user${i}`, 0, false));
    const matches = [
      ...engine.offer(login("user0", 1, false)),
      ...engine.offer(login(`user${CORRELATION_GROUPS_MAX}`, 1, false)),
    ];
    assert.deepEqual(
      matches.map((m) => m.groupBy?.["userIdentity.userName"]),
      [`user${CORRELATION_GROUPS_MAX}`],
    );
  });

  it(`keeps at most ${CORRELATION_ENTRIES_MAX} timestamps over all groups, dropping the least recently active`, () => {
    const threshold = 10_000;
    const rule: CorrelationRule = {
      kind: "correlation",
      id: "big",
      title: "Big",
      level: "low",
      source: { file: "x.yml", document: 0 },
      type: "event_count",
      rules: ["failed-login"],
      groupBy: ["userIdentity.userName"],
      timespanMs: 86_400_000,
      condition: [{ op: "gte", value: threshold }],
      aliases: new Map(),
      generate: false,
    };
    const state = new CorrelationState(rule, [["failed-login"]]);
    // One group more than fit: the sum passes the bound by less than one group.
    const groups = Math.floor(CORRELATION_ENTRIES_MAX / (threshold - 1)) + 1;
    const event = { eventID: "e", eventTime: "2024-01-01T00:00:00Z" };
    for (let user = 0; user < groups; user++)
      for (let i = 0; i < threshold - 1; i++) state.offer([0], { userIdentity: { userName: `u${user}` } }, user, event);
    assert.equal(state.evictedGroups, 1);
    // The first user's count was dropped: one more failure does not complete it; the last user's does.
    assert.deepEqual(state.offer([0], { userIdentity: { userName: "u0" } }, groups, event), []);
    assert.equal(state.offer([0], { userIdentity: { userName: `u${groups - 1}` } }, groups, event).length, 1);
  });
});
