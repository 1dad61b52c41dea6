/**
 * The proxy's connections to its upstream. Connections are reused when the upstream allows it
 * (keep-alive agent, LIFO, no Nagle delay). Upstreams that close every connection (moto's Werkzeug
 * answers `Connection: close`) would make every proxied call open a connection while its client
 * waits; so while calls keep coming, one spare connection is opened ahead of need and the next call
 * that needs a new connection takes it, already connected. A spare is used only while fresh
 * (`SPARE_IDLE_MS`, well under the idle timeouts servers apply to a connection that has sent
 * nothing) and is dropped as soon as the upstream closes it; it is opened only when a call needed
 * a new connection shortly after another one did, so an idle proxy or a keep-alive upstream holds none.
 */
import { Agent, type AgentOptions } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { Duplex } from "node:stream";

/** How long a spare connection may wait for a call before it is closed unused. */
const SPARE_IDLE_MS = 1_000;

type CreateConnection = (options: object, callback?: (error: Error | null, socket?: Duplex) => void) => Duplex;

interface Spare {
  readonly socket: Duplex;
  readonly name: string;
  readonly openedAtMs: number;
  /** Stops watching the socket: it is handed out (the agent's listeners take over). */
  readonly forget: () => void;
}

export interface UpstreamAgent {
  readonly agent: Agent;
  /** Connections handed out already connected (the figure the tests read). */
  readonly stats: { sparesUsed: number };
  /**
   * Whether this socket was handed out as a spare: a call that fails on it before any answer may be
   * sent again on a fresh connection (the upstream may have closed the spare as the call went out).
   */
  wasSpare(socket: unknown): boolean;
  destroy(): void;
}

export function upstreamAgent(secure: boolean, nowMs: () => number = Date.now): UpstreamAgent {
  const options: AgentOptions = { keepAlive: true, noDelay: true, scheduling: "lifo" };
  const agent = secure ? new HttpsAgent(options) : new Agent(options);
  const withAgent = agent as unknown as {
    createConnection: CreateConnection;
    getName: (options: object) => string;
  };
  const create = withAgent.createConnection.bind(agent);
  const stats = { sparesUsed: 0 };
  const handedOut = new WeakSet<object>();
  let spare: Spare | undefined;
  let lastCreatedAtMs = -Infinity;
  let destroyed = false;

  const dropSpare = (): void => {
    const dropped = spare;
    spare = undefined;
    if (dropped === undefined) return;
    dropped.forget();
    dropped.socket.destroy();
  };

  const openSpare = (connectOptions: object, name: string): void => {
    if (destroyed || spare !== undefined) return;
    let socket: Duplex;
    try {
      socket = create({ ...connectOptions });
    } catch {
      return;
    }
    // Until it is handed out, the spare is this module's: an error or the upstream closing it drops it.
    const gone = (): void => {
      if (spare?.socket === socket) spare = undefined;
      socket.destroy();
    };
    socket.on("error", gone);
    socket.once("end", gone);
    socket.once("close", gone);
    // Bytes on a connection that has sent no request mean the upstream is closing it (say a 408).
    socket.once("data", gone);
    const timer = setTimeout(gone, SPARE_IDLE_MS);
    timer.unref();
    spare = {
      socket,
      name,
      openedAtMs: nowMs(),
      forget: () => {
        clearTimeout(timer);
        socket.off("error", gone);
        socket.off("end", gone);
        socket.off("close", gone);
        socket.off("data", gone);
      },
    };
  };

  withAgent.createConnection = (connectOptions, callback) => {
    const name = withAgent.getName(connectOptions);
    const at = nowMs();
    // A spare is worth holding only while calls keep needing new connections.
    const busy = at - lastCreatedAtMs < SPARE_IDLE_MS;
    lastCreatedAtMs = at;
    const ready = spare;
    let socket: Duplex | undefined;
    if (
      ready !== undefined &&
      ready.name === name &&
      at - ready.openedAtMs < SPARE_IDLE_MS &&
      !ready.socket.destroyed
    ) {
      spare = undefined;
      ready.forget();
      stats.sparesUsed += 1;
      handedOut.add(ready.socket);
      socket = ready.socket;
    } else if (ready !== undefined && (ready.name !== name || at - ready.openedAtMs >= SPARE_IDLE_MS)) {
      dropSpare();
    }
    // The next spare is opened after this call's connection is on its way, never before it.
    const result = socket ?? create(connectOptions, callback);
    if (busy) setImmediate(() => openSpare(connectOptions, name));
    return result;
  };

  return {
    agent,
    stats,
    wasSpare: (socket) => typeof socket === "object" && socket !== null && handedOut.has(socket),
    destroy() {
      destroyed = true;
      dropSpare();
      agent.destroy();
    },
  };
}
