import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { detectionLakeQuery, parseRuleFile, type DetectionRule } from "../../src/sigma/index.js";

const STORE = "0f1e2d3c-0000-4000-8000-000000000000";

function ruleOf(detection: string): DetectionRule {
  const yaml = [
    "title: T",
    "id: t",
    "logsource:",
    "    product: aws",
    "    service: cloudtrail",
    "detection:",
    ...detection.split("\n").map((line) => `    ${line}`),
  ].join("\n");
  const { rules, errors } = parseRuleFile("t.yml", yaml);
  assert.deepEqual(errors, []);
  return rules[0] as DetectionRule;
}

describe("Sigma detections as Lake SQL (what the integration test cannot show)", () => {
  it("bounds eventTime first, so the Lake prunes partitions, and orders by eventTime", () => {
    const query = detectionLakeQuery(ruleOf("sel:\n    eventName: StopLogging\ncondition: sel"), {
      eventDataStore: STORE,
      startTime: "2024-01-01 00:00:00",
      endTime: "2024-01-02 00:00:00",
    });
    assert.ok(query.ok);
    assert.match(
      query.sql,
      new RegExp(`FROM ${STORE} WHERE eventTime >= '2024-01-01 00:00:00' AND eventTime <= '2024-01-02 00:00:00' AND `),
    );
    assert.match(query.sql, /lower\(json_extract_scalar\(eventJson, '\$\.eventName'\)\) = 'stoplogging'/);
    assert.match(query.sql, /ORDER BY eventTime, eventID$/);
  });

  it("quotes values: a quote is doubled, LIKE's own wildcards are escaped", () => {
    const query = detectionLakeQuery(ruleOf('sel:\n    userAgent|contains: "it\'s 100%_x"\ncondition: sel'), {
      eventDataStore: STORE,
    });
    assert.ok(query.ok);
    assert.ok(query.sql.includes("LIKE '%it''s 100\\%\\_x%' ESCAPE '\\'"), query.sql);
  });

  it("says why a rule cannot be translated", () => {
    const cases: Array<[string, RegExp]> = [
      ["sel:\n    sourceIPAddress|cidr: 2001:db8::/32\ncondition: sel", /IPv6 ranges/],
      ["sel:\n    userAgent|re: 'a(?=b)'\ncondition: sel", /lookaround or backreferences/],
      ["sel:\n    userAgent|re: '(a)\\1'\ncondition: sel", /lookaround or backreferences/],
      ["sel:\n    requestParameters.my-key: x\ncondition: sel", /segment 'my-key'/],
      [
        `sel:\n    eventName:\n${Array.from({ length: 400 }, (_, i) => `        - SomeLongEventName${i}`).join("\n")}\ncondition: sel`,
        /Lake takes at most 10000/,
      ],
    ];
    for (const [detection, reason] of cases) {
      const query = detectionLakeQuery(ruleOf(detection), { eventDataStore: STORE });
      assert.equal(query.ok, false);
      assert.match(query.ok ? "" : query.reason, reason);
    }
  });
});
