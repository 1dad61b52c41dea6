import type { EventConnection, EventRuleStore } from "../../stores/event-rules/index.js";
import type { ApiDestinationInvoker, AuthorizationResult } from "./api-destination-invoker.js";
import { invokerConnection } from "./target-sender.js";

/** ConnectionStateReason's bound in the model. */
const REASON_CHARS_MAX = 512;

function reasonOf(error: string): string {
  return `Authorization failed: ${error}`.slice(0, REASON_CHARS_MAX);
}

/**
 * Keeps OAuth connections' states as EventBridge does: a connection created or given new auth is
 * AUTHORIZING until its first token request ends, then AUTHORIZED, or DEAUTHORIZED with the reason
 * when the authorization endpoint refused it or could not be reached. Afterwards every token request
 * of a delivery moves it again: a fresh token makes it AUTHORIZED, a refusal (not a 429, 5xx or
 * silence, which may pass) DEAUTHORIZED.
 */
export class ConnectionAuthorizer {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      readonly store: Pick<EventRuleStore, "connectionAuth" | "setConnectionState">;
      readonly invoker: Pick<ApiDestinationInvoker, "authorizeConnection">;
      readonly nowMs: () => number;
      readonly report: (error: unknown) => void;
    },
  ) {}

  /** Starts authorizing the connection as it was stored (not awaited: the API answers AUTHORIZING first). */
  start(connection: EventConnection): void {
    const run = this.authorize(connection)
      .catch(this.deps.report)
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** For the invoker's `onAuthorization`: a delivery's token request ended. */
  readonly onDelivery = (connectionArn: string, result: AuthorizationResult): void => {
    if (!result.ok && result.retryable) return;
    const change = result.ok
      ? { state: "AUTHORIZED" as const, nowMs: this.deps.nowMs() }
      : { state: "DEAUTHORIZED" as const, reason: reasonOf(result.error), nowMs: this.deps.nowMs() };
    const run = this.deps.store
      .setConnectionState(connectionArn, change)
      .then(() => undefined, this.deps.report)
      .finally(() => this.running.delete(run));
    this.running.add(run);
  };

  /** Waits for the authorizations under way (the invoker's shutdown signal ends their requests). */
  async close(): Promise<void> {
    await Promise.all([...this.running]);
  }

  private async authorize(connection: EventConnection): Promise<void> {
    const auth = await this.deps.store.connectionAuth(connection.arn);
    if (auth === undefined) return;
    const target = invokerConnection(connection.arn, auth);
    const result: AuthorizationResult =
      target === undefined
        ? { ok: false, error: "the connection's authorization cannot be used", retryable: false }
        : await this.deps.invoker.authorizeConnection(target);
    const nowMs = this.deps.nowMs();
    await this.deps.store.setConnectionState(connection.arn, {
      ...(result.ok ? { state: "AUTHORIZED" } : { state: "DEAUTHORIZED", reason: reasonOf(result.error) }),
      nowMs,
      ifUpdatedAtMs: connection.updatedAtMs,
    });
  }
}
