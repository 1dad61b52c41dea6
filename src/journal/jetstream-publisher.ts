import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/transport-node";

/** What JetStream answers a publish with: the stream's seq of the message, or that its id was a repeat. */
export interface PublishAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

export interface OutgoingMessage {
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs;
  /** JetStream's de-duplication id (`Nats-Msg-Id`). */
  readonly msgId?: string;
}

type Settle = (answer: PublishAck | Error) => void;

/**
 * Publishes to a JetStream stream and collects the acknowledgements on one reply subscription
 * (decision 0010, "Publishing"): nats.js's `js.publish` makes a request object, a timer and two
 * Errors for every message, most of an append's CPU, where an append here costs one timer whatever
 * its size. A publish is a core NATS publish whose reply subject is this publisher's inbox plus a
 * counter; the stream answers there with its PubAck (`{"stream","seq","duplicate"}`), an error
 * (`{"error":{…}}`), or, with no stream on the subject, a 503 status.
 */
export class JetStreamPublisher {
  private readonly inbox = `${createInbox()}.`;
  private readonly pending = new Map<string, Settle>();
  private readonly subscription: Subscription;
  private sent = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
  ) {
    this.subscription = nc.subscribe(`${this.inbox}*`, { callback: (error, msg) => this.answer(error, msg) });
  }

  /**
   * Publishes every message back to back (the stream stores them in that order), then resolves with
   * each one's ack, or the Error that stands for it (refused, or unanswered after `timeoutMs`: it may
   * still have been stored).
   */
  publishAll(
    subject: string,
    messages: readonly OutgoingMessage[],
    timeoutMs: number,
  ): Promise<Array<PublishAck | Error>> {
    const tokens: string[] = [];
    const answers = messages.map((message) => {
      const token = `${this.inbox}${(this.sent++).toString(36)}`;
      tokens.push(token);
      const answered = new Promise<PublishAck | Error>((settle) => this.pending.set(token, settle));
      message.headers.set("Nats-Expected-Stream", this.stream);
      if (message.msgId !== undefined) message.headers.set("Nats-Msg-Id", message.msgId);
      try {
        this.nc.publish(subject, message.payload, { headers: message.headers, reply: token });
      } catch (error) {
        this.settle(token, error instanceof Error ? error : new Error(String(error)));
      }
      return answered;
    });
    const timer = setTimeout(() => {
      for (const token of tokens)
        this.settle(token, new Error(`No acknowledgement from JetStream in ${timeoutMs} ms.`));
    }, timeoutMs);
    return Promise.all(answers).finally(() => clearTimeout(timer));
  }

  close(): void {
    this.subscription.unsubscribe();
    for (const token of [...this.pending.keys()]) this.settle(token, new Error("The journal connection closed."));
  }

  private answer(error: Error | null, msg: Msg): void {
    if (error !== null) {
      for (const token of [...this.pending.keys()]) this.settle(token, error);
      return;
    }
    this.settle(msg.subject, ackOf(msg));
  }

  private settle(token: string, answer: PublishAck | Error): void {
    const settle = this.pending.get(token);
    if (settle === undefined) return;
    this.pending.delete(token);
    settle(answer);
  }
}

function ackOf(msg: Msg): PublishAck | Error {
  if (msg.headers?.hasError === true)
    return new Error(`JetStream answered ${msg.headers.code} ${msg.headers.description} (no stream on the subject?).`);
  try {
    const body = msg.json<{ seq?: unknown; duplicate?: unknown; error?: { description?: unknown } }>();
    if (body.error !== undefined) return new Error(`JetStream refused the message: ${String(body.error.description)}`);
    if (typeof body.seq !== "number") return new Error("JetStream answered without a seq.");
    return { seq: body.seq, duplicate: body.duplicate === true };
  } catch {
    return new Error("JetStream answered with something other than a PubAck.");
  }
}
