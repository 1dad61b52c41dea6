import Table from "cli-table3";
import type { ClientSettings } from "../../client/client-settings.js";
import { signedFetch, type FetchFunction } from "../../client/signed-fetch.js";
import type { Output } from "../output.js";

export interface EventsFailuresOptions {
  readonly client: ClientSettings;
  /** Only this rule's failures (its name). */
  readonly rule?: string;
  /** Stop after this many failures; all pages when absent. */
  readonly maxItems?: number;
  readonly json?: boolean;
  readonly stdout: Output;
  readonly fetchFunction?: FetchFunction;
}

/** One failure as ListRuleDeliveryFailures answers it. */
export interface RuleDeliveryFailureAnswer {
  readonly RuleArn: string;
  readonly TargetId: string;
  readonly TargetArn: string;
  readonly EventId: string;
  readonly CloudTrailEventId: string;
  readonly JournalSeq: number;
  readonly Reason: string;
  readonly Attempts: number;
  readonly LastHttpStatus?: number;
  readonly LastError: string;
  readonly FirstAttemptTime: string;
  readonly LastAttemptTime: string;
  readonly FailedTime: string;
}

class EventsCallError extends Error {
  override readonly name = "EventsCallError";
}

const PAGE_SIZE = 100;

/**
 * `cairn events failures`: the events the caller's EventBridge rules gave up delivering, through
 * Cairn's `AWSEvents.ListRuleDeliveryFailures` (signed for the service `events`, as `aws events`
 * calls are), following NextToken; a table, or JSON with `--json`.
 */
export async function runEventsFailures(options: EventsFailuresOptions): Promise<RuleDeliveryFailureAnswer[]> {
  const failures: RuleDeliveryFailureAnswer[] = [];
  let nextToken: string | undefined;
  do {
    const limit = Math.min(PAGE_SIZE, (options.maxItems ?? Infinity) - failures.length);
    const body = await listPage(options, {
      Limit: limit,
      ...(options.rule !== undefined ? { Rule: options.rule } : {}),
      ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
    });
    failures.push(...(body["Failures"] as RuleDeliveryFailureAnswer[]));
    nextToken = typeof body["NextToken"] === "string" ? body["NextToken"] : undefined;
  } while (nextToken !== undefined && (options.maxItems === undefined || failures.length < options.maxItems));
  options.stdout.write(options.json === true ? JSON.stringify(failures, null, 2) + "\n" : failuresTable(failures));
  return failures;
}

async function listPage(
  options: EventsFailuresOptions,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await signedFetch(
    options.client,
    {
      method: "POST",
      path: "/",
      service: "events",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSEvents.ListRuleDeliveryFailures",
      },
      body: Buffer.from(JSON.stringify(input)),
    },
    options.fetchFunction,
  );
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new EventsCallError(
      `ListRuleDeliveryFailures answered ${response.status}: ${String(body["__type"] ?? "")} ${String(body["message"] ?? "")}`.trim(),
    );
  return body;
}

function failuresTable(failures: readonly RuleDeliveryFailureAnswer[]): string {
  if (failures.length === 0) return "No delivery failures.\n";
  const table = new Table({ head: ["Failed", "Rule", "Target", "eventID", "Reason", "Attempts", "Last error"] });
  for (const failure of failures)
    table.push([
      failure.FailedTime,
      failure.RuleArn.slice(failure.RuleArn.indexOf("rule/") + "rule/".length),
      failure.TargetId,
      failure.CloudTrailEventId,
      failure.Reason,
      failure.Attempts,
      failure.LastError,
    ]);
  return table.toString() + "\n";
}
