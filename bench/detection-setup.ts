import { performance } from "node:perf_hooks";
import type { SignatureV4 } from "@smithy/signature-v4";
import { startHttpReceiver, type HttpReceiver } from "../test/helpers/http-receiver.js";
import { BENCH_REGIONS } from "./event-history-records.js";
import type { BenchRule } from "./detection-rules.js";
import { benchSigner } from "./server-process.js";

/**
 * What bench/detection.ts sets up on a `cairn server`: the rules, a connection and API destinations
 * through Cairn's EventBridge API (signed as the SDKs sign, service `events`), and the local
 * webhook receiver their targets point at.
 */

/** Each target sends `{"eventID": …, "rule": …}`, so the receiver can tell which record reached it through which rule. */
const TARGET_INPUT = {
  InputPathsMap: { id: "$.detail.eventID" },
  InputTemplate: '{"eventID": <id>, "rule": <aws.events.rule-name>}',
};
/** A few webhooks, as a team would have (pager, chat, SIEM, tickets), all on the local receiver. */
const DESTINATIONS = ["pager", "chat", "siem", "tickets"];
const SETUP_CONCURRENCY = 8;

async function eventsCall(
  url: string,
  signer: SignatureV4,
  operation: string,
  input: unknown,
): Promise<Record<string, unknown>> {
  const target = new URL(url);
  const body = JSON.stringify(input);
  const signed = await signer.sign({
    method: "POST",
    protocol: "http:",
    hostname: target.hostname,
    port: Number(target.port),
    path: "/",
    headers: {
      host: target.host,
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSEvents.${operation}`,
    },
    body,
  });
  const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== "host"));
  const response = await fetch(`${url}/`, { method: "POST", headers, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${operation} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function inTurn<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: SETUP_CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function rulesInRegion(
  url: string,
  receiverUrl: string,
  rules: readonly BenchRule[],
  region: string,
): Promise<void> {
  const signer = benchSigner("events", region);
  const connection = await eventsCall(url, signer, "CreateConnection", {
    Name: "bench-hooks",
    AuthorizationType: "API_KEY",
    AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "bench-webhook-key" } },
  });
  const destinations: string[] = [];
  for (const name of DESTINATIONS) {
    const created = await eventsCall(url, signer, "CreateApiDestination", {
      Name: name,
      ConnectionArn: connection["ConnectionArn"],
      InvocationEndpoint: `${receiverUrl}/${name}`,
      HttpMethod: "POST",
    });
    destinations.push(String(created["ApiDestinationArn"]));
  }
  await inTurn(rules, async (rule) => {
    await eventsCall(url, signer, "PutRule", {
      Name: rule.name,
      EventPattern: JSON.stringify(rule.pattern),
      State: rule.state,
    });
    const index = rules.indexOf(rule);
    const put = await eventsCall(url, signer, "PutTargets", {
      Rule: rule.name,
      Targets: [{ Id: "webhook", Arn: destinations[index % destinations.length], InputTransformer: TARGET_INPUT }],
    });
    if (put["FailedEntryCount"] !== 0) throw new Error(`PutTargets ${rule.name}: ${JSON.stringify(put)}`);
  });
}

/**
 * The rules in each region the bench records come from (rules are per account and region, so every
 * record meets all of them), each with one API-destination target on the receiver.
 */
export async function createBenchRules(url: string, receiverUrl: string, rules: readonly BenchRule[]): Promise<void> {
  for (const region of BENCH_REGIONS) await rulesInRegion(url, receiverUrl, rules, region);
}

/** The local webhook receiver: answers 200 and notes when each (record, rule) delivery first arrived. */
export interface DeliveryReceiver {
  readonly url: string;
  /** First arrival (performance.now()) per `eventID\nrule`. */
  readonly arrivals: Map<string, number>;
  /** Requests received, repeats included (delivery is at least once). */
  received: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startDeliveryReceiver(): Promise<DeliveryReceiver> {
  const http: HttpReceiver = await startHttpReceiver();
  const receiver: DeliveryReceiver = {
    url: http.url,
    arrivals: new Map(),
    received: 0,
    reset() {
      receiver.arrivals.clear();
      receiver.received = 0;
    },
    close: () => http.close(),
  };
  http.answerWith((request, response) => {
    const at = performance.now();
    response.writeHead(200);
    response.end();
    // The helper keeps every request; the bench needs only the arrival times.
    http.requests.length = 0;
    receiver.received++;
    const body = JSON.parse(request.body) as { eventID: string; rule: string };
    const key = `${body.eventID}\n${body.rule}`;
    if (!receiver.arrivals.has(key)) receiver.arrivals.set(key, at);
  });
  return receiver;
}
