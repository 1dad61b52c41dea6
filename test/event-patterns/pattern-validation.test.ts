import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileEventPattern, InvalidEventPatternError, patternMatches } from "../../src/event-patterns/index.js";

/**
 * Patterns EventBridge refuses and the reason it gives (the text after "Event pattern is not valid.
 * Reason: " in its InvalidEventPatternException, as EventBridge answers TestEventPattern).
 */
const REFUSALS: ReadonlyArray<readonly [string, string]> = [
  ['["not", "an", "object"]', "Filter is not an object"],
  ['{"int": 42}', '"int" must be an object or an array'],
  ['{"string": "my-value"}', '"string" must be an object or an array'],
  ['{"resources": []}', "Empty arrays are not allowed"],
  ['{"detail": {}}', "Empty objects are not allowed"],
  ['{"my_key": [{"EXISTS": true}]}', "Unrecognized match type EXISTS"],
  ['{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}', "Unrecognized match type NUMERIC"],
  ['{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false."],
  ['{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"],
  ['{"time": [{"prefix": ["2022-07-13"]}]}', "prefix match pattern must be a string"],
  ['{"time": [{"prefix": 123}]}', "prefix match pattern must be a string"],
  ['{"FileName": [{"suffix": [".png"]}]}', "suffix match pattern must be a string"],
  ['{"a": [{"prefix": {"other": "x"}}]}', "Unsupported prefix pattern: other"],
  ['{"detail-type": [{"equals-ignore-case": ["ec2"]}]}', "equals-ignore-case match pattern must be a string"],
  ['{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}', "equals-ignore-case match pattern must be a string"],
  ['{"EventBusArn": [{"wildcard": 123}]}', "wildcard match pattern must be a string"],
  ['{"EventBusArn": [{"wildcard": "arn:**:bus"}]}', "Consecutive wildcard characters at pos 5"],
  ['{"EventBusArn": [{"wildcard": "a\\\\b"}]}', "Invalid escape character at pos 2"],
  ['{"detail": {"c-count": [{"numeric": 10}]}}', "Value of numeric must be an array."],
  ['{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}', "Bad numeric range operator: >"],
  ['{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}', "Value of < must be numeric"],
  ['{"detail": {"c-count": [{"numeric": ["=", "5"]}]}}', "Value of equals must be numeric"],
  ['{"detail": {"c-count": [{"numeric": ["!=", 5]}]}}', "Unrecognized numeric range operator: !="],
  ['{"detail": {"c-count": [{"numeric": [">", 10, "<", 5]}]}}', "Bottom must be less than top"],
  ['{"detail": {"c-count": [{"numeric": [">", 0, "<", 5, 6]}]}}', "Too many terms in numeric range expression"],
  [
    '{"detail": {"state": [{"anything-but": null}]}}',
    "Value of anything-but must be an array or single string/number value.",
  ],
  [
    '{"detail": {"state": [{"anything-but": ["stopped", null]}]}}',
    "Inside anything but list, start|null|boolean is not supported.",
  ],
  [
    '{"detail": {"state": [{"anything-but": ["stopped", 5]}]}}',
    "Inside anything but list, either all values are number or string, mixed type is not supported",
  ],
  [
    '{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}',
    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
  ],
  [
    '{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}',
    "prefix/suffix match pattern must be a string",
  ],
  ['{"detail": {"FileName": [{"anything-but": {"suffix": ""}}]}}', "Null prefix/suffix not allowed"],
  [
    '{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}',
    "Value of anything-but must be an array or single string/number value.",
  ],
  ['{"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}', "wildcard match pattern must be a string"],
  ['{"detail": {"FilePath": [{"anything-but": {"contains": "x"}}]}}', "Unsupported anything-but pattern: contains"],
  ['{"ip": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"],
  ['{"ip": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"],
  ['{"ip": [{"cidr": "xx.11.xx/24"}]}', "Nonstandard IP address: xx.11.xx"],
  ['{"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}', "Nonstandard IP address: xxxx:db8:1234:1a00::"],
  ['{"ip": [{"cidr": "10.0.0.0/32"}]}', "IPv4 mask bits must be < 32"],
  ['{"ip": [{"cidr": ["bad-type"]}]}', "prefix match pattern must be a string"],
  ['{"$or": [{"a": ["x"]}]}', "There must have at least 2 Objects in $or relationship."],
  ['{"$or": {"a": ["x"]}}', "It must be an Array followed with $or."],
  ['{"$or": [{"a": ["x"]}, "b"]}', "Only JSON object is allowed in array of $or relationship."],
  [
    '{"$or": [{"a": ["x"]}, {"numeric": ["x"]}]}',
    "numeric is Ruler reserved fieldName which cannot be used inside $or.",
  ],
  ['{"a": [["nested"]]}', "Match value must be String, number, true, false, or null"],
];

describe("event patterns: what EventBridge refuses", () => {
  for (const [pattern, reason] of REFUSALS) {
    it(`${pattern} → ${reason}`, () => {
      assert.throws(
        () => compileEventPattern(pattern),
        (error: unknown) => error instanceof InvalidEventPatternError && error.message === reason,
      );
    });
  }

  it("refuses text that is not JSON", () => {
    assert.throws(() => compileEventPattern("{'bad': 'quotation'}"), InvalidEventPatternError);
  });

  it("accepts every operator in one pattern", () => {
    const pattern = compileEventPattern(
      JSON.stringify({
        source: ["aws.ec2", { prefix: "aws." }, { suffix: ".ec2" }, { "equals-ignore-case": "AWS.EC2" }],
        detail: {
          a: [
            { wildcard: "x*y" },
            { numeric: [">=", 1, "<", 2] },
            { cidr: "2001:db8::/32" },
            { exists: true },
            null,
            5,
            true,
          ],
          b: [{ "anything-but": { wildcard: ["*x", "y*"] } }, { "anything-but": 5 }, { exactly: "x" }],
        },
      }),
    );
    assert.ok(pattern.leaves.length > 0);
  });
});

describe("event patterns: bounded work", () => {
  it("refuses a pattern nested deeper than 100 levels, by objects or by dotted segments", () => {
    const dotted = JSON.stringify({ [Array(101).fill("a").join(".")]: ["x"] });
    let nested = '["x"]';
    for (let i = 0; i < 101; i++) nested = `{"a":${nested}}`;
    for (const pattern of [dotted, nested]) {
      assert.throws(
        () => compileEventPattern(pattern),
        (error: unknown) =>
          error instanceof InvalidEventPatternError &&
          error.message === "Cairn refuses patterns nested deeper than 100 levels",
      );
    }
    assert.doesNotThrow(() => compileEventPattern(JSON.stringify({ [Array(100).fill("a").join(".")]: ["x"] })));
  });

  it("matches an event whose keys hold a million dots or collide many times without exhausting the stack", () => {
    const path = Array(100).fill("a");
    const pattern = compileEventPattern(JSON.stringify({ [path.join(".")]: ["x"] }));
    const deepKey = Array(1_000_000).fill("a").join(".");
    assert.equal(patternMatches(pattern, { [deepKey]: "y" }), false);
    assert.equal(patternMatches(pattern, { [path.join(".")]: "x" }), true);
    const colliding: Record<string, unknown> = { a: "x" };
    for (let i = 0; i < 200_000; i++) colliding[`a.k${i}`] = i;
    const leaf = compileEventPattern('{"a": ["x"], "a.k199999": [199999]}');
    assert.equal(patternMatches(leaf, colliding), true);
  });
});
