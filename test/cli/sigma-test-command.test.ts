import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { runSigmaTest } from "../../src/cli/commands/sigma-test.js";
import { collectOutput } from "../../src/cli/output.js";

const RULE = `title: Trail stopped
id: stop-logging
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: StopLogging
    condition: selection
`;
const REFUSED = RULE.replace("id: stop-logging", "id: other").replace("eventName:", "eventName|expand:");

function record(eventID: string, eventTime: string, eventName: string): Record<string, unknown> {
  return { eventID, eventTime, eventName, eventSource: "cloudtrail.amazonaws.com" };
}

describe("cairn sigma test", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cairn-sigma-cli-"));
    writeFileSync(join(dir, "rule.yml"), `${RULE}---\n${REFUSED}`);
    const later = record("b", "2024-01-01T00:00:09Z", "StopLogging");
    const earlier = record("a", "2024-01-01T00:00:01Z", "StopLogging");
    writeFileSync(
      join(dir, "trail.json.gz"),
      gzipSync(JSON.stringify({ Records: [later, record("c", "2024-01-01T00:00:05Z", "X")] })),
    );
    writeFileSync(join(dir, "lines.jsonl"), `${JSON.stringify(earlier)}\n\n${JSON.stringify(record("d", "x", "Y"))}\n`);
    writeFileSync(join(dir, "broken.json"), "{not json");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints matches in eventTime order as JSON lines, refused rules on stderr", async () => {
    const stdout = collectOutput();
    const stderr = collectOutput();
    const code = await runSigmaTest({
      rulePaths: [join(dir, "rule.yml")],
      recordPaths: [join(dir, "trail.json.gz"), join(dir, "lines.jsonl")],
      json: true,
      stdout,
      stderr,
    });
    assert.equal(code, 0);
    assert.deepEqual(
      stdout
        .text()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
      [
        {
          ruleId: "stop-logging",
          title: "Trail stopped",
          level: "high",
          eventID: "a",
          eventTime: "2024-01-01T00:00:01Z",
        },
        {
          ruleId: "stop-logging",
          title: "Trail stopped",
          level: "high",
          eventID: "b",
          eventTime: "2024-01-01T00:00:09Z",
        },
      ],
    );
    const errors = stderr
      .text()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; document: number; error: string });
    assert.deepEqual(
      errors.map((error) => [error.id, error.document]),
      [["other", 1]],
    );
    assert.match(errors[0]!.error, /\|expand/);
  });

  it("prints text lines, and fails (exit 1) on a records file it cannot read", async () => {
    const stdout = collectOutput();
    const stderr = collectOutput();
    const code = await runSigmaTest({
      rulePaths: [join(dir, "rule.yml")],
      recordPaths: [join(dir, "trail.json.gz"), join(dir, "broken.json"), join(dir, "missing.json")],
      json: false,
      stdout,
      stderr,
    });
    assert.equal(code, 1);
    assert.match(stdout.text(), /^2024-01-01T00:00:09Z {2}high {5}Trail stopped {2}b {2}stop-logging\n$/);
    assert.match(stderr.text(), /broken\.json: neither a CloudTrail log file nor JSON lines/);
    assert.match(stderr.text(), /missing\.json: cannot be read \(ENOENT\)/);
    assert.match(stderr.text(), /rule\.yml#1: 'Trail stopped' refused: .*\|expand/);
  });

  it("fails when no rule loads", async () => {
    const stderr = collectOutput();
    const code = await runSigmaTest({
      rulePaths: [join(dir, "nothing-here")],
      recordPaths: [join(dir, "trail.json.gz")],
      json: false,
      stdout: collectOutput(),
      stderr,
    });
    assert.equal(code, 1);
    assert.match(stderr.text(), /nothing-here: the file cannot be read \(ENOENT\)/);
  });
});
