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
import { systemClock } from "../../lib/clock.js";

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

/**
 * Opens a connection ahead of need. Until it is handed out, the spare is this module's: an error, the
 * upstream closing it, or its idle time running out destroys it and reports it `gone`.
 */
function openSpareConnection(
  create: CreateConnection,
  connectOptions: object,
  name: string,
  nowMs: () => number,
  gone: (socket: Duplex) => void,
): Spare | undefined {
  let socket: Duplex;
  try {
    socket = create({ ...connectOptions });
  } catch {
    return undefined;
  }
  const drop = (): void => {
    gone(socket);
    socket.destroy();
  };
  socket.on("error", drop);
  socket.once("end", drop);
  socket.once("close", drop);
  // Bytes on a connection that has sent no request mean the upstream is closing it (say a 408).
  socket.once("data", drop);
  const timer = setTimeout(drop, SPARE_IDLE_MS);
  timer.unref();
  return {
    socket,
    name,
    openedAtMs: nowMs(),
    forget: () => {
      clearTimeout(timer);
      socket.off("error", drop);
      socket.off("end", drop);
      socket.off("close", drop);
      socket.off("data", drop);
    },
  };
}

/** A spare serves a call to the same upstream (agent name) while it is fresh. */
function spareFits(spare: Spare, name: string, atMs: number): boolean {
  return spare.name === name && atMs - spare.openedAtMs < SPARE_IDLE_MS;
}

export function upstreamAgent(secure: boolean, nowMs: () => number = systemClock.nowMs): UpstreamAgent {
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
    spare = openSpareConnection(create, connectOptions, name, nowMs, (socket) => {
      if (spare?.socket === socket) spare = undefined;
    });
  };

  /** The spare, taken out of this module's care, if it can serve this call; a stale one is dropped. */
  const takeSpare = (name: string, atMs: number): Duplex | undefined => {
    const ready = spare;
    if (ready === undefined) return undefined;
    if (!spareFits(ready, name, atMs)) {
      dropSpare();
      return undefined;
    }
    if (ready.socket.destroyed) return undefined;
    spare = undefined;
    ready.forget();
    stats.sparesUsed += 1;
    handedOut.add(ready.socket);
    return ready.socket;
  };

  withAgent.createConnection = (connectOptions, callback) => {
    const name = withAgent.getName(connectOptions);
    const at = nowMs();
    // A spare is worth holding only while calls keep needing new connections.
    const busy = at - lastCreatedAtMs < SPARE_IDLE_MS;
    lastCreatedAtMs = at;
    // The next spare is opened after this call's connection is on its way, never before it.
    const result = takeSpare(name, at) ?? create(connectOptions, callback);
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
