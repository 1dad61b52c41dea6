import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { pollUntil } from "./poll.js";
import { TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, TEST_SECRET_ACCESS_KEY, type ServerProcess } from "./server-process.js";
import { cloudTrailCall, ingestCall, sendRaw, type RawResponse } from "./signed-request.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/**
 * How long one call of the load may take before it counts as hung. Above the PostgreSQL client's own
 * bounds (5 s to connect, 15 s per statement) and a JetStream publish's retries, far below "forever".
 */
const CALL_BOUND_MS = 45_000;

/** A management event of the test account named `marker`, so one LookupEvents finds a test's events only. */
export function markedRecord(marker: string): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    userIdentity: {
      type: "IAMUser",
      principalId: "AIDAEXAMPLEFAULTS001",
      arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/faults`,
      accountId: TEST_ACCOUNT_ID,
      userName: "faults",
    },
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "s3.amazonaws.com",
    eventName: marker,
    awsRegion: "us-east-1",
    sourceIPAddress: "192.0.2.7",
    userAgent: "cluster-faults-test",
    requestParameters: { bucketName: "faults" },
    responseElements: null,
    eventID: randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: TEST_ACCOUNT_ID,
    eventCategory: "Management",
  };
}

/** An answer that is neither a success nor the 503 a client retries: a 500, another status, or no AWS error shape. */
export interface UnexpectedAnswer {
  readonly call: string;
  readonly node: string;
  readonly status: number;
  readonly body: string;
}

/** What the clients of a load saw, for the assertions after it. */
export interface LoadTally {
  /** eventIDs of records a node acknowledged (2xx, not in the answer's `failed`). */
  readonly acknowledged: Set<string>;
  /** eventIDs sent in calls that were not acknowledged: they may be stored or not, never twice. */
  readonly unacknowledged: Set<string>;
  /** 503 ServiceUnavailableException answers (AWS-shaped, checked when counted), per call. */
  readonly unavailable: Map<string, number>;
  /** Calls that got no answer: a refused or reset connection (a killed node). */
  readonly connectionFailures: number;
  /** Calls that took longer than CALL_BOUND_MS. */
  readonly hung: string[];
  readonly unexpected: UnexpectedAnswer[];
  /** Successful LookupEvents calls of the lookup clients. */
  readonly lookups: number;
}

interface MutableTally extends LoadTally {
  connectionFailures: number;
  lookups: number;
}

export interface LoadOptions {
  /** The nodes a client may use now: a client moves to the next one when its node does not answer. */
  readonly nodes: () => readonly ServerProcess[];
  readonly marker: string;
  readonly ingestClients: number;
  readonly batchSize: number;
  /** Clients that call LookupEvents for the marker in a loop (default none). */
  readonly lookupClients?: number;
  /** Pause between two calls of one client (default 20 ms): the machine has two cores and three nodes. */
  readonly pauseMs?: number;
}

/**
 * Concurrent clients as behind a load balancer: each ingests batches of marked records into its
 * node (client i starts on node i mod n) and keeps count of what was acknowledged; a node that does
 * not answer sends the client to the next one. Runs until stop().
 */
export class ClusterLoad {
  readonly tally: MutableTally = {
    acknowledged: new Set(),
    unacknowledged: new Set(),
    unavailable: new Map(),
    connectionFailures: 0,
    hung: [],
    unexpected: [],
    lookups: 0,
  };
  private stopped = false;
  private readonly clients: Promise<void>[];

  constructor(readonly options: LoadOptions) {
    this.clients = [
      ...Array.from({ length: options.ingestClients }, (_, i) => this.client(i, (node) => this.ingestOnce(node))),
      ...Array.from({ length: options.lookupClients ?? 0 }, (_, i) =>
        this.client(options.ingestClients + i, (node) => this.lookupOnce(node)),
      ),
    ];
  }

  /** Resolves once `count` records are acknowledged in all (rejects when the load got nowhere in `timeoutMs`). */
  async acknowledgedAtLeast(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.tally.acknowledged.size < count) {
      if (Date.now() > deadline)
        throw new Error(`Only ${this.tally.acknowledged.size} of ${count} records acknowledged: ${this.summary()}`);
      await sleep(50);
    }
  }

  /** Stops every client after its call in flight. */
  async stop(): Promise<LoadTally> {
    this.stopped = true;
    await Promise.all(this.clients);
    return this.tally;
  }

  summary(): string {
    const t = this.tally;
    return (
      `${t.acknowledged.size} acknowledged, ${t.unacknowledged.size} not, ${t.connectionFailures} connection failures, ` +
      `503s ${JSON.stringify(Object.fromEntries(t.unavailable))}, ${t.lookups} lookups, ${t.hung.length} hung, ` +
      `${t.unexpected.length} unexpected`
    );
  }

  private async client(index: number, call: (node: ServerProcess) => Promise<"moved" | "done">): Promise<void> {
    let turn = index;
    while (!this.stopped) {
      const nodes = this.options.nodes();
      const outcome = await call(nodes[turn % nodes.length]!);
      if (outcome === "moved") turn++;
      await sleep(this.options.pauseMs ?? 20);
    }
  }

  private async ingestOnce(node: ServerProcess): Promise<"moved" | "done"> {
    const records = Array.from({ length: this.options.batchSize }, () => markedRecord(this.options.marker));
    const ids = records.map((record) => String(record["eventID"]));
    const answer = await this.send("Ingest", node, ingestCall(records, admin, { gzip: true }));
    if (typeof answer === "string" || answer.status !== 200) {
      ids.forEach((id) => this.tally.unacknowledged.add(id));
      return answer === "unreachable" ? "moved" : "done";
    }
    const failed = new Set((answer.json()["failed"] as Array<{ index: number }>).map((failure) => failure.index));
    ids.forEach((id, i) => (failed.has(i) ? this.tally.unacknowledged : this.tally.acknowledged).add(id));
    return "done";
  }

  private async lookupOnce(node: ServerProcess): Promise<"moved" | "done"> {
    const body = { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: this.options.marker }] };
    const answer = await this.send("LookupEvents", node, cloudTrailCall("LookupEvents", body, admin));
    if (typeof answer !== "string" && answer.status === 200) this.tally.lookups++;
    return answer === "unreachable" ? "moved" : "done";
  }

  /**
   * One call: the answer, "unreachable" when the node refused or reset the connection, "hung" when
   * no answer came within CALL_BOUND_MS. Every answer but 200 and a shaped 503 is unexpected.
   */
  private async send(
    name: string,
    node: ServerProcess,
    request: Parameters<typeof sendRaw>[1],
  ): Promise<RawResponse | "unreachable" | "hung"> {
    const started = Date.now();
    let response: RawResponse;
    try {
      response = await sendRaw(node.url, { ...request, timeoutMs: CALL_BOUND_MS });
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        this.tally.hung.push(`${name} on ${node.url} after ${Date.now() - started} ms`);
        return "hung";
      }
      this.tally.connectionFailures++;
      return "unreachable";
    }
    if (response.status === 200) return response;
    if (response.status === 503 && isAwsError(response.text, "ServiceUnavailableException"))
      this.tally.unavailable.set(name, (this.tally.unavailable.get(name) ?? 0) + 1);
    else this.tally.unexpected.push({ call: name, node: node.url, status: response.status, body: response.text });
    return response;
  }
}

function isAwsError(text: string, type: string): boolean {
  try {
    const body = JSON.parse(text) as { __type?: unknown; message?: unknown };
    return body.__type === type && typeof body.message === "string" && body.message.length > 0;
  } catch {
    return false;
  }
}

/**
 * eventID → how many times LookupEvents on `node` lists it among the events named `marker`, over
 * every page. Pages may be read from other nodes (`pageNodes`, in turn): a NextToken works on any node.
 */
export async function lookupCounts(
  node: ServerProcess,
  marker: string,
  options: { pageSize?: number; pageNodes?: readonly ServerProcess[] } = {},
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const nodes = options.pageNodes ?? [node];
  let token: string | undefined;
  let page = 0;
  do {
    const target = page === 0 ? node : nodes[page % nodes.length]!;
    const response = await sendRaw(
      target.url,
      cloudTrailCall(
        "LookupEvents",
        {
          LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: marker }],
          MaxResults: options.pageSize ?? 50,
          ...(token !== undefined ? { NextToken: token } : {}),
        },
        admin,
        { timeoutMs: CALL_BOUND_MS },
      ),
    );
    assert.equal(response.status, 200, `LookupEvents page ${page} on ${target.url}: ${response.text}`);
    const body = JSON.parse(response.text) as { Events: Array<{ EventId: string }>; NextToken?: string };
    for (const event of body.Events) counts.set(event.EventId, (counts.get(event.EventId) ?? 0) + 1);
    token = body.NextToken;
    page++;
  } while (token !== undefined);
  return counts;
}

/**
 * Asserts the store behind `counts` holds every acknowledged event exactly once and no event twice
 * (events that were not acknowledged may be there or not: their node may have stored them and died
 * before answering). With `onlyLoad`, it must hold nothing but the load's events.
 */
export function assertExactlyOnce(
  where: string,
  counts: ReadonlyMap<string, number>,
  tally: LoadTally,
  options: { onlyLoad?: boolean } = {},
): void {
  const missing = [...tally.acknowledged].filter((id) => !counts.has(id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged events missing from ${where}`);
  const doubled = [...counts].filter(([, times]) => times !== 1);
  assert.deepEqual(doubled.slice(0, 10), [], `${doubled.length} events more than once in ${where}`);
  if (options.onlyLoad !== true) return;
  const strangers = [...counts.keys()].filter((id) => !tally.acknowledged.has(id) && !tally.unacknowledged.has(id));
  assert.deepEqual(strangers.slice(0, 10), [], `${where} holds events no client sent`);
}

/** Asserts the load saw no 500 (or other unexpected answer) and no call beyond its bound. */
export function assertCleanAnswers(tally: LoadTally): void {
  assert.deepEqual(tally.unexpected.slice(0, 5), [], `${tally.unexpected.length} answers neither 200 nor a shaped 503`);
  assert.deepEqual(tally.hung, [], "calls that took longer than their bound");
}

/**
 * `read()` once it holds every acknowledged event of `tally` (indexing and delivery catch up after a
 * fault), or its last answer after two minutes, for assertExactlyOnce to name what is missing.
 */
export async function settledCounts(
  read: () => Promise<Map<string, number>>,
  tally: LoadTally,
): Promise<Map<string, number>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const counts = await read();
    if ([...tally.acknowledged].every((id) => counts.has(id)) || Date.now() > deadline) return counts;
    await sleep(500);
  }
}

/** Ingests one marked record through `node` and finds it there, polling while the node recovers from a fault. */
export async function ingestsAndFindsAgain(node: ServerProcess): Promise<void> {
  const marker = `Probe${randomBytes(4).toString("hex")}`;
  const record = markedRecord(marker);
  await pollUntil(async () => (await sendRaw(node.url, ingestCall([record], admin))).status === 200, {
    timeoutMs: 60_000,
    intervalMs: 250,
    message: `${node.url} to acknowledge an ingest after the fault`,
  });
  const found = await pollUntil(
    async () => {
      const counts = await lookupCounts(node, marker).catch(() => undefined);
      return counts !== undefined && counts.size > 0 && counts;
    },
    { timeoutMs: 60_000, intervalMs: 250, message: `${node.url} to find its new event` },
  );
  assert.deepEqual([...found], [[record["eventID"], 1]], `${node.url} finds its new event once`);
}
