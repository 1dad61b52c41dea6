import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileEventPattern, patternMatches } from "../../src/event-patterns/index.js";

/**
 * The examples of the EventBridge user guide ("Creating event patterns", "Content filtering",
 * "Arrays in event patterns"), each as a match and a non-match. The events are the guide's
 * EC2 state-change and S3 examples, reduced to what each pattern reads.
 */
const ec2StateChange = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2017-12-22T18:43:48Z",
  region: "us-west-1",
  resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  detail: {
    "instance-id": "i-1234567890abcdef0",
    state: "terminated",
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    "source-ipv6": "2001:db8:1234:1a00:9691:9503:25ad:1761",
    FilePath: "/var/lib/app/file.txt",
    responseElements: null,
    eventVersion: "",
    enabled: false,
  },
};

const withDetail = (detail: Record<string, unknown>): Record<string, unknown> => ({
  ...ec2StateChange,
  detail: { ...ec2StateChange.detail, ...detail },
});

interface Example {
  readonly name: string;
  readonly pattern: unknown;
  readonly matches: unknown;
  readonly misses: unknown;
}

const EXAMPLES: readonly Example[] = [
  {
    name: "exact string",
    pattern: { source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, source: "aws.s3" },
  },
  {
    name: "exact string is case-sensitive",
    pattern: { detail: { state: ["terminated"] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "Terminated" }),
  },
  {
    name: "exact number",
    pattern: { detail: { "c-count": [5] } },
    matches: ec2StateChange,
    misses: withDetail({ "c-count": "5" }),
  },
  {
    name: "exact null",
    pattern: { detail: { responseElements: [null] } },
    matches: ec2StateChange,
    misses: withDetail({ responseElements: {} }),
  },
  {
    name: "empty string",
    pattern: { detail: { eventVersion: [""] } },
    matches: ec2StateChange,
    misses: withDetail({ eventVersion: "1.0" }),
  },
  {
    name: "exact boolean",
    pattern: { detail: { enabled: [false] } },
    matches: ec2StateChange,
    misses: withDetail({ enabled: "false" }),
  },
  {
    name: "any of several values",
    pattern: { detail: { state: ["pending", "terminated"] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "running" }),
  },
  {
    name: "prefix",
    pattern: { time: [{ prefix: "2017-12-22" }] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, time: "2017-12-23T00:00:00Z" },
  },
  {
    name: "prefix ignoring case",
    pattern: { source: [{ prefix: { "equals-ignore-case": "AWS.EC" } }] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, source: "aws.s3" },
  },
  {
    name: "suffix",
    pattern: { detail: { FilePath: [{ suffix: ".txt" }] } },
    matches: ec2StateChange,
    misses: withDetail({ FilePath: "/var/lib/app/file.png" }),
  },
  {
    name: "suffix ignoring case",
    pattern: { detail: { FilePath: [{ suffix: { "equals-ignore-case": ".TXT" } }] } },
    matches: ec2StateChange,
    misses: withDetail({ FilePath: "/var/lib/app/file.png" }),
  },
  {
    name: "equals-ignore-case",
    pattern: { "detail-type": [{ "equals-ignore-case": "ec2 instance state-change notification" }] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, "detail-type": "EC2 Spot Instance Interruption Warning" },
  },
  {
    name: "anything-but a string",
    pattern: { detail: { state: [{ "anything-but": "initializing" }] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "initializing" }),
  },
  {
    name: "anything-but a list of strings",
    pattern: { detail: { state: [{ "anything-but": ["stopped", "overloaded"] }] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "overloaded" }),
  },
  {
    name: "anything-but a list of numbers",
    pattern: { detail: { "c-count": [{ "anything-but": [100, 200, 300] }] } },
    matches: ec2StateChange,
    misses: withDetail({ "c-count": 200 }),
  },
  {
    name: "anything-but a prefix",
    pattern: { detail: { state: [{ "anything-but": { prefix: "init" } }] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "initializing" }),
  },
  {
    name: "anything-but a list of prefixes",
    pattern: { detail: { state: [{ "anything-but": { prefix: ["init", "pend"] } }] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "pending" }),
  },
  {
    name: "anything-but a suffix",
    pattern: { detail: { FilePath: [{ "anything-but": { suffix: ".png" } }] } },
    matches: ec2StateChange,
    misses: withDetail({ FilePath: "/img/a.png" }),
  },
  {
    name: "anything-but ignoring case",
    pattern: { detail: { state: [{ "anything-but": { "equals-ignore-case": ["Stopped", "OverLoaded"] } }] } },
    matches: ec2StateChange,
    misses: withDetail({ state: "STOPPED" }),
  },
  {
    name: "anything-but a wildcard",
    pattern: { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
    matches: withDetail({ FilePath: "/usr/bin/app" }),
    misses: ec2StateChange,
  },
  {
    name: "anything-but does not match a missing field",
    pattern: { detail: { missing: [{ "anything-but": "x" }] } },
    matches: withDetail({ missing: "y" }),
    misses: ec2StateChange,
  },
  {
    name: "numeric range",
    pattern: { detail: { "c-count": [{ numeric: [">", 0, "<=", 5] }] } },
    matches: ec2StateChange,
    misses: withDetail({ "c-count": 6 }),
  },
  {
    name: "numeric open bound",
    pattern: { detail: { "d-count": [{ numeric: ["<", 10] }] } },
    matches: ec2StateChange,
    misses: withDetail({ "d-count": 10 }),
  },
  {
    name: "numeric equals",
    pattern: { detail: { "x-limit": [{ numeric: ["=", 3.018e2] }] } },
    matches: ec2StateChange,
    misses: withDetail({ "x-limit": 301.9 }),
  },
  {
    name: "numeric never matches a string",
    pattern: { detail: { "c-count": [{ numeric: [">=", 0] }] } },
    matches: ec2StateChange,
    misses: withDetail({ "c-count": "5" }),
  },
  {
    name: "IPv4 cidr",
    pattern: { detail: { "source-ip": [{ cidr: "10.0.0.0/24" }] } },
    matches: ec2StateChange,
    misses: withDetail({ "source-ip": "10.0.1.1" }),
  },
  {
    name: "IPv6 cidr",
    pattern: { detail: { "source-ipv6": [{ cidr: "2001:db8:1234:1a00::/64" }] } },
    matches: ec2StateChange,
    misses: withDetail({ "source-ipv6": "2001:db8:1234:1a01::1" }),
  },
  {
    name: "exists true",
    pattern: { detail: { state: [{ exists: true }] } },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, detail: { "instance-id": "i-1" } },
  },
  {
    name: "exists false",
    pattern: { detail: { state: [{ exists: false }] } },
    matches: { ...ec2StateChange, detail: { "instance-id": "i-1" } },
    misses: ec2StateChange,
  },
  {
    name: "exists looks at leaves only",
    pattern: { detail: { nested: [{ exists: true }] } },
    matches: withDetail({ nested: "leaf" }),
    misses: withDetail({ nested: { inner: "object" } }),
  },
  {
    name: "wildcard",
    pattern: { detail: { FilePath: [{ wildcard: "/var/*/file.*" }] } },
    matches: ec2StateChange,
    misses: withDetail({ FilePath: "/usr/lib/file.txt" }),
  },
  {
    name: "wildcard escapes a literal star",
    pattern: { detail: { FilePath: [{ wildcard: "a\\*b*" }] } },
    matches: withDetail({ FilePath: "a*b.txt" }),
    misses: withDetail({ FilePath: "axb.txt" }),
  },
  {
    name: "$or across fields",
    pattern: {
      detail: {
        $or: [
          { "c-count": [{ numeric: [">", 0, "<=", 5] }] },
          { "d-count": [{ numeric: ["<", 10] }] },
          { "x-limit": [{ numeric: ["=", 3.018e2] }] },
        ],
      },
    },
    matches: withDetail({ "c-count": 50, "d-count": 50 }),
    misses: withDetail({ "c-count": 50, "d-count": 50, "x-limit": 1 }),
  },
  {
    name: "$or at the top level beside other fields",
    pattern: { source: ["aws.ec2"], $or: [{ region: ["us-east-1"] }, { detail: { state: ["terminated"] } }] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, detail: { state: "running" } },
  },
  {
    name: "an array in the event matches when any element does",
    pattern: { resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0", "arn:aws:ec2:other"] },
    matches: {
      ...ec2StateChange,
      resources: ["arn:aws:ec2:x", "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    },
    misses: { ...ec2StateChange, resources: ["arn:aws:ec2:x", "arn:aws:ec2:y"] },
  },
  {
    name: "fields matched inside an array of objects come from one element",
    pattern: { detail: { items: { name: ["a"], size: [2] } } },
    matches: withDetail({
      items: [
        { name: "b", size: 2 },
        { name: "a", size: 2 },
      ],
    }),
    misses: withDetail({
      items: [
        { name: "a", size: 1 },
        { name: "b", size: 2 },
      ],
    }),
  },
  {
    name: "a dotted pattern key is a path",
    pattern: { "detail.state": ["terminated"] },
    matches: ec2StateChange,
    misses: withDetail({ state: "running" }),
  },
  {
    name: "a dotted event key is a path",
    pattern: { detail: { state: { status: ["running"] } } },
    matches: { ...ec2StateChange, detail: { "state.status": "running" } },
    misses: { ...ec2StateChange, detail: { "state.status": "stopped" } },
  },
  {
    name: "a nested pattern needs the nested object",
    pattern: { detail: { "instance-id": ["i-1234567890abcdef0"] }, source: ["aws.ec2"] },
    matches: ec2StateChange,
    misses: { ...ec2StateChange, detail: "i-1234567890abcdef0" },
  },
];

describe("event patterns: the documented EventBridge examples", () => {
  for (const example of EXAMPLES) {
    it(`${example.name}: matches`, () => {
      assert.equal(patternMatches(compileEventPattern(JSON.stringify(example.pattern)), example.matches), true);
    });
    it(`${example.name}: does not match`, () => {
      assert.equal(patternMatches(compileEventPattern(JSON.stringify(example.pattern)), example.misses), false);
    });
  }
});
