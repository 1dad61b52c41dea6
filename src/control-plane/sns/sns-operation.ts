import type { Principal } from "../../stores/principals/index.js";
import type { SnsStore, SnsSubscription, SnsTopic } from "../../stores/sns/index.js";
import type { SnsPublisher } from "./sns-publisher.js";

/** A map member of an SNS Query answer: `<entry><key>…</key><value>…</value></entry>` items. */
export class XmlEntries {
  constructor(readonly entries: ReadonlyArray<readonly [string, string]>) {}
}

/** A value of an SNS Query answer: lists become `<member>` items, objects nested elements. */
export type SnsXml = string | number | XmlEntries | readonly SnsXml[] | { readonly [name: string]: SnsXml | undefined };

/** One call of the SNS API: its parameters as the form sent them, in the caller's account and region. */
export interface SnsCall {
  readonly input: Readonly<Record<string, string>>;
  readonly principal: Principal;
  readonly accountId: string;
  readonly region: string;
  readonly nowMs: number;
  /** Cairn's endpoint as the caller reached it: where a SubscribeURL points. */
  readonly endpointUrl: string;
}

export interface SnsResult {
  /** The `<OpResult>` content; null for operations that answer only ResponseMetadata. */
  readonly result: { readonly [name: string]: SnsXml | undefined } | null;
  /** What CloudTrail logs as responseElements; null for most SNS writes. */
  readonly responseElements: Record<string, unknown> | null;
  /** Work that may run only once the call is on record (the SubscriptionConfirmation POST). */
  readonly afterAnswer?: () => Promise<void>;
}

export interface SnsOperation {
  readonly readOnly: boolean;
  /** Recorded as a data event of its topic (Publish), as CloudTrail records it; a refused call stays a management event. */
  readonly dataEvent?: boolean;
  /** What CloudTrail logs as requestParameters: the call's parameters without secrets (the token). */
  requestParameters(input: Readonly<Record<string, string>>): Record<string, unknown>;
  /** The resource ARN the service authorisation reference names for the call (`*` when none). */
  resource(call: SnsCall): string;
  run(call: SnsCall): Promise<SnsResult>;
}

/** The SubscriptionConfirmation an endpoint is sent (docs/reference/sns.md). */
export interface ConfirmationRequest {
  readonly topic: SnsTopic;
  readonly subscription: SnsSubscription;
  readonly token: string;
  readonly endpointUrl: string;
  readonly nowMs: number;
}

/** What the SNS operations need from the rest of Cairn. */
export interface SnsDependencies {
  readonly store: SnsStore;
  /** POSTs the SubscriptionConfirmation to the subscription's endpoint; never rejects. */
  readonly sendConfirmation: (request: ConfirmationRequest) => Promise<void>;
  /** Delivers published messages to the confirmed subscriptions (Publish). */
  readonly publisher: SnsPublisher;
  /** Where what endpoints answered to Publish is reported (the server's standard error). */
  readonly log: (line: string) => void;
}
