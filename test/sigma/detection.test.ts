import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseRuleFile, SigmaEngine, type SigmaRule } from "../../src/sigma/index.js";

/** One rule document around a detection block (YAML text, indented under `detection:`). */
function ruleYaml(detection: string, extra = ""): string {
  return [
    "title: Test rule",
    "id: 00000000-0000-4000-8000-000000000001",
    "level: high",
    "logsource:",
    "    product: aws",
    "    service: cloudtrail",
    "detection:",
    ...detection.split("\n").map((line) => `    ${line}`),
    extra,
  ].join("\n");
}

function load(yaml: string): SigmaRule[] {
  const { rules, errors } = parseRuleFile("test.yml", yaml);
  assert.deepEqual(errors, []);
  return rules;
}

function refusal(yaml: string): string {
  const { rules, errors } = parseRuleFile("test.yml", yaml);
  assert.equal(rules.length, 0, "the rule must be refused");
  assert.equal(errors.length, 1);
  return errors[0]!.reason;
}

/** Whether the detection matches each record, in order. */
function matches(detection: string, records: readonly unknown[]): boolean[] {
  const engine = new SigmaEngine(load(ruleYaml(detection)));
  return records.map((record) => engine.offer(record).length > 0);
}

const ASSUME = {
  eventID: "e1",
  eventTime: "2024-01-01T00:00:00Z",
  eventSource: "sts.amazonaws.com",
  eventName: "AssumeRole",
  userAgent: "aws-cli/2.13.5 Python/3.11.4",
  sourceIPAddress: "10.1.20.7",
  userIdentity: { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/alice" },
  requestParameters: {
    roleArn: "arn:aws:iam::111122223333:role/Admin",
    durationSeconds: 3600,
    tags: [
      { key: "team", value: "red" },
      { key: "cost", value: "42" },
    ],
    policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"],
    flag: true,
    nothing: null,
  },
};

describe("Sigma detection: values and modifiers", () => {
  it("compares plain values case-insensitively, as whole values", () => {
    assert.deepEqual(
      matches("sel:\n    eventName: assumerole\ncondition: sel", [ASSUME, { ...ASSUME, eventName: "AssumeRoleX" }]),
      [true, false],
    );
  });

  it("reads dotted paths into nested members and into lists of objects (any element)", () => {
    assert.deepEqual(matches("sel:\n    userIdentity.type: iamuser\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    requestParameters.tags.value: RED\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    requestParameters.tags.value: blue\ncondition: sel", [ASSUME]), [false]);
  });

  it("matches a field holding a list when any element matches", () => {
    const yaml = "sel:\n    requestParameters.policyArns|endswith: /AdministratorAccess\ncondition: sel";
    assert.deepEqual(matches(yaml, [ASSUME, { ...ASSUME, requestParameters: { policyArns: ["x"] } }]), [true, false]);
  });

  it("compares numbers and booleans as their text", () => {
    assert.deepEqual(matches("sel:\n    requestParameters.durationSeconds: 3600\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    requestParameters.durationSeconds: '3600'\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    requestParameters.flag: 'TRUE'\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    requestParameters.tags.value: 42\ncondition: sel", [ASSUME]), [true]);
  });

  it("treats a list of values as OR, and |all as AND", () => {
    const or = "sel:\n    eventName:\n        - GetSessionToken\n        - AssumeRole\ncondition: sel";
    assert.deepEqual(matches(or, [ASSUME, { ...ASSUME, eventName: "Other" }]), [true, false]);
    const all = "sel:\n    userAgent|contains|all:\n        - aws-cli\n        - python\ncondition: sel";
    assert.deepEqual(matches(all, [ASSUME, { ...ASSUME, userAgent: "aws-cli/2" }]), [true, false]);
  });

  it("treats a map as AND and a list of maps as OR", () => {
    const and = "sel:\n    eventSource: sts.amazonaws.com\n    eventName: GetSessionToken\ncondition: sel";
    assert.deepEqual(matches(and, [ASSUME]), [false]);
    const or = "sel:\n    - eventName: GetSessionToken\n    - eventSource: sts.amazonaws.com\ncondition: sel";
    assert.deepEqual(matches(or, [ASSUME]), [true]);
  });

  it("supports contains, startswith and endswith", () => {
    assert.deepEqual(matches("sel:\n    userAgent|contains: PYTHON/3\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    userAgent|startswith: aws-cli/\ncondition: sel", [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    userAgent|startswith: python\ncondition: sel", [ASSUME]), [false]);
    assert.deepEqual(matches("sel:\n    userIdentity.arn|endswith: ':user/ALICE'\ncondition: sel", [ASSUME]), [true]);
  });

  it("reads * and ? as wildcards and \\* \\? \\\\ as the characters", () => {
    const records = [
      { ...ASSUME, userAgent: "a*b" },
      { ...ASSUME, userAgent: "axxb" },
      { ...ASSUME, userAgent: "a\\b" },
    ];
    assert.deepEqual(matches("sel:\n    userAgent: 'a*b'\ncondition: sel", records), [true, true, true]);
    assert.deepEqual(matches("sel:\n    userAgent: 'a\\*b'\ncondition: sel", records), [true, false, false]);
    assert.deepEqual(matches("sel:\n    userAgent: 'a?b'\ncondition: sel", records), [true, false, true]);
    assert.deepEqual(matches("sel:\n    userAgent: 'a\\\\b'\ncondition: sel", records), [false, false, true]);
    // A backslash before an ordinary character is itself.
    assert.deepEqual(matches("sel:\n    userAgent: 'a\\b'\ncondition: sel", records), [false, false, true]);
  });

  it("matches |contains on an object member against its JSON text", () => {
    const yaml = 'sel:\n    requestParameters|contains: \'"key":"team"\'\ncondition: sel';
    assert.deepEqual(matches(yaml, [ASSUME, { ...ASSUME, requestParameters: { key: "other" } }]), [true, false]);
  });

  it("matches null when the field is absent or null, and |exists on presence", () => {
    const records = [ASSUME, { ...ASSUME, errorCode: "AccessDenied" }, { ...ASSUME, errorCode: null }];
    assert.deepEqual(matches("sel:\n    errorCode: null\ncondition: sel", records), [true, false, true]);
    assert.deepEqual(matches("sel:\n    errorCode|exists: true\ncondition: sel", records), [false, true, true]);
    assert.deepEqual(matches("sel:\n    errorCode|exists: false\ncondition: sel", records), [true, false, false]);
    assert.deepEqual(matches("sel:\n    requestParameters.nothing: null\ncondition: sel", [ASSUME]), [true]);
  });

  it("runs |re case-sensitively, and |re|i without case", () => {
    const records = [ASSUME, { ...ASSUME, userIdentity: { arn: "ARN:AWS:IAM::1:USER/ALICE" } }];
    assert.deepEqual(matches("sel:\n    userIdentity.arn|re: ':user/[a-z]+$'\ncondition: sel", records), [true, false]);
    assert.deepEqual(matches("sel:\n    userIdentity.arn|re|i: ':user/[a-z]+$'\ncondition: sel", records), [
      true,
      true,
    ]);
  });

  it("matches |cidr on IPv4 and IPv6 ranges", () => {
    const records = [
      ASSUME,
      { ...ASSUME, sourceIPAddress: "10.1.40.7" },
      { ...ASSUME, sourceIPAddress: "2001:db8::5" },
    ];
    assert.deepEqual(matches("sel:\n    sourceIPAddress|cidr: 10.1.16.0/20\ncondition: sel", records), [
      true,
      false,
      false,
    ]);
    assert.deepEqual(matches("sel:\n    sourceIPAddress|cidr: 2001:db8::/32\ncondition: sel", records), [
      false,
      false,
      true,
    ]);
  });

  it("compares numbers with |lt, |lte, |gt, |gte", () => {
    const path = "requestParameters.durationSeconds";
    assert.deepEqual(matches(`sel:\n    ${path}|gt: 3599\ncondition: sel`, [ASSUME]), [true]);
    assert.deepEqual(matches(`sel:\n    ${path}|gte: 3600\ncondition: sel`, [ASSUME]), [true]);
    assert.deepEqual(matches(`sel:\n    ${path}|lt: 3600\ncondition: sel`, [ASSUME]), [false]);
    assert.deepEqual(matches(`sel:\n    ${path}|lte: 3600\ncondition: sel`, [ASSUME]), [true]);
    assert.deepEqual(matches("sel:\n    userAgent|gt: 1\ncondition: sel", [ASSUME]), [false]);
  });

  it("compares two fields with |fieldref, and negates with |neq", () => {
    const same = { ...ASSUME, requestParameters: { userName: "ALICE" }, userIdentity: { userName: "alice" } };
    const yaml = "sel:\n    userIdentity.userName|fieldref: requestParameters.userName\ncondition: sel";
    assert.deepEqual(matches(yaml, [same, ASSUME]), [true, false]);
    assert.deepEqual(
      matches("sel:\n    eventName|neq: AssumeRole\ncondition: sel", [ASSUME, { ...ASSUME, eventName: "X" }]),
      [false, true],
    );
  });

  it("matches |cased values with case", () => {
    assert.deepEqual(matches("sel:\n    eventName|cased: assumerole\ncondition: sel", [ASSUME]), [false]);
    assert.deepEqual(matches("sel:\n    eventName|cased: AssumeRole\ncondition: sel", [ASSUME]), [true]);
  });

  it("expands |windash into every dash and finds |base64 and |base64offset encodings", () => {
    const windash = "sel:\n    userAgent|windash|contains: ' -x'\ncondition: sel";
    assert.deepEqual(
      matches(windash, [{ ...ASSUME, userAgent: "tool /x" }, { ...ASSUME, userAgent: "tool \u2013x" }, ASSUME]),
      [true, true, false],
    );
    const encoded = Buffer.from("curl http://evil").toString("base64");
    assert.deepEqual(
      matches("sel:\n    userAgent|base64: curl http://evil\ncondition: sel", [{ ...ASSUME, userAgent: encoded }]),
      [true],
    );
    const inside = Buffer.from("echo x; curl http://evil; y").toString("base64");
    assert.deepEqual(
      matches("sel:\n    userAgent|base64offset|contains: curl http://evil\ncondition: sel", [
        { ...ASSUME, userAgent: inside },
        ASSUME,
      ]),
      [true, false],
    );
  });

  it("searches keywords (field-less values) over every value of the record", () => {
    const yaml = "keywords:\n    - '*AdministratorAccess'\n    - nothing-here\ncondition: keywords";
    assert.deepEqual(matches(yaml, [ASSUME, { ...ASSUME, requestParameters: {} }]), [true, false]);
  });
});

describe("Sigma detection: conditions", () => {
  const searches = [
    "sel_sts:\n    eventSource: sts.amazonaws.com",
    "sel_name:\n    eventName: AssumeRole",
    "filter_cli:\n    userAgent|startswith: aws-cli",
    "_hidden:\n    eventName: Nothing",
  ].join("\n");
  const other = { ...ASSUME, eventName: "GetCallerIdentity", userAgent: "boto3" };
  const cases: Array<[string, boolean[]]> = [
    ["sel_sts and sel_name", [true, false]],
    ["sel_name or filter_cli", [true, false]],
    ["sel_sts and not filter_cli", [false, true]],
    ["not (sel_name or filter_cli)", [false, true]],
    ["1 of sel_*", [true, true]],
    ["all of sel_*", [true, false]],
    ["1 of them", [true, true]],
    // `them` leaves out identifiers that start with an underscore.
    ["all of them", [true, false]],
    ["sel_sts and not 1 of filter*", [false, true]],
    ["NOT sel_name AND sel_sts", [false, true]],
  ];
  for (const [condition, expected] of cases)
    it(`'${condition}'`, () =>
      assert.deepEqual(matches(`${searches}\ncondition: ${condition}`, [ASSUME, other]), expected));

  it("binds not tighter than and, and and tighter than or", () => {
    assert.deepEqual(matches(`${searches}\ncondition: filter_cli or sel_sts and not sel_name`, [ASSUME, other]), [
      true,
      true,
    ]);
    assert.deepEqual(matches(`${searches}\ncondition: (filter_cli or sel_sts) and not sel_name`, [ASSUME, other]), [
      false,
      true,
    ]);
  });
});

describe("Sigma rules: what is refused, with the reason", () => {
  const refusedCases: Array<[string, string, RegExp]> = [
    ["a placeholder (|expand)", "sel:\n    src|expand: '%list%'\ncondition: sel", /\|expand/],
    ["an unknown modifier", "sel:\n    eventName|sounds_like: x\ncondition: sel", /'\|sounds_like'/],
    ["UTF-16 encodings", "sel:\n    eventName|wide|base64: x\ncondition: sel", /\|wide/],
    ["an unknown identifier", "sel:\n    eventName: x\ncondition: sel and other", /unknown search identifier 'other'/],
    ["a pattern matching nothing", "sel:\n    eventName: x\ncondition: 1 of filter_*", /'filter_\*' matches no search/],
    ["an unclosed parenthesis", "sel:\n    eventName: x\ncondition: (sel", /parenthesis/],
    ["an invalid regular expression", "sel:\n    eventName|re: '(x'\ncondition: sel", /invalid regular expression/],
    ["|all with one value", "sel:\n    eventName|all: x\ncondition: sel", /\|all needs a list/],
    ["a malformed CIDR", "sel:\n    sourceIPAddress|cidr: 10.0.0.0/33\ncondition: sel", /prefix length/],
    ["near", "a:\n    eventName: x\nb:\n    eventName: y\ncondition: a | near b", /'near'/],
    [
      "a timeframe without aggregation",
      "a:\n    eventName: x\ntimeframe: 5m\ncondition: a",
      /timeframe without an aggregation/,
    ],
  ];
  for (const [what, detection, reason] of refusedCases)
    it(`refuses ${what}`, () => assert.match(refusal(ruleYaml(detection)), reason));

  it("refuses another log source", () => {
    const yaml = ruleYaml("sel:\n    EventID: 1\ncondition: sel").replace("product: aws", "product: windows");
    assert.match(refusal(yaml), /logsource product 'windows'.*not CloudTrail/);
  });

  it("refuses a rule without a title, and YAML that does not parse", () => {
    assert.match(
      refusal(ruleYaml("sel:\n    eventName: x\ncondition: sel").replace("title: Test rule", "")),
      /no title/,
    );
    assert.match(parseRuleFile("x.yml", "title: [unclosed").errors[0]!.reason, /not valid YAML/);
  });

  it("loads the other documents of a file when one is refused", () => {
    const good = ruleYaml("sel:\n    eventName: x\ncondition: sel");
    const bad = ruleYaml("sel:\n    eventName|expand: '%x%'\ncondition: sel").replace("0001", "0002");
    const { rules, errors } = parseRuleFile("two.yml", `${good}\n---\n${bad}`);
    assert.equal(rules.length, 1);
    assert.deepEqual(
      errors.map((error) => [error.source.document, error.id]),
      [[1, "00000000-0000-4000-8000-000000000002"]],
    );
  });
});
