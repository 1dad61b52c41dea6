import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticateHeaders, toSignedRequest, type CallerAttribution } from "../auth/authenticate.js";
import { isApiError, type ApiError } from "../lib/api-error.js";
import type { Clock } from "../lib/clock.js";
import type { PrincipalStore } from "../stores/principals/index.js";
import type { InflightBodyBudget } from "./inflight-body-budget.js";
import { closeIfBodyUnread, sendNoRoute, senderOf } from "./send-error.js";
import { noteSignedRoute, refuseBeforeBody, signedRouteOf, type SignedRouteFacts } from "./signed-routes.js";
import type { UnauthenticatedRefusals } from "./unauthenticated-refusals.js";

export interface RequestGateOptions {
  readonly principals: PrincipalStore;
  readonly clock: Clock;
  readonly budget: InflightBodyBudget;
  readonly unauthenticated: UnauthenticatedRefusals;
  /** Writes the individual record of a refusal whose caller is known (recordRefusal). */
  readonly recordKnown: (
    request: FastifyRequest,
    error: ApiError,
    known: { attribution: CallerAttribution; eventName: string; readOnly: boolean; eventSource?: string },
  ) => Promise<void>;
}

const NO_BODY = new Uint8Array(0);

/**
 * What the headers allow, decided before a body is read (docs/reference/security.md, "Bounded
 * work"). For every signed route: a well-formed SigV4 Authorization header, a key the principal
 * store knows, a signing time within the skew; else the call is refused at once and its body is
 * never read. Then the body is read under the route's cap and the server's in-flight body budget,
 * and the route verifies the signature over it as before. A request answered with its body unread
 * is answered with `Connection: close`, so its connection is closed, not drained.
 */
export class RequestGate {
  /** Requests whose headers passed, with who they claim to be: later refusals are theirs. */
  private readonly passed = new WeakMap<FastifyRequest, CallerAttribution>();

  constructor(private readonly options: RequestGateOptions) {}

  /** Installs the gate's hooks; before any route is registered, so that every signed route is seen. */
  install(app: FastifyInstance): void {
    app.addHook("onRoute", noteSignedRoute);
    app.addHook("onRequest", (request, reply) => this.checkHeaders(request, reply));
    app.addHook("preParsing", async (request, reply, payload) => this.admitBody(request, reply, payload));
  }

  /**
   * Records a refusal decided outside a route's handler (the error handler: oversized, unreadable
   * or over-budget bodies): individually when the headers named a known caller (as the route
   * records its calls), else counted.
   */
  async recordRefusal(request: FastifyRequest, error: ApiError): Promise<void> {
    const attribution = this.passed.get(request);
    const route = signedRouteOf(request);
    if (attribution?.principal === undefined || route === undefined) {
      this.options.unauthenticated.note(request.ip, error.code);
      return;
    }
    const eventName = route.eventName(request);
    await this.options.recordKnown(request, error, {
      attribution,
      eventName,
      readOnly: route.readOnly(eventName),
      ...(route.eventSource !== undefined ? { eventSource: route.eventSource } : {}),
    });
  }

  private async checkHeaders(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const route = signedRouteOf(request);
    if (route === undefined) return this.unsignedRoute(request, reply);
    const attribution: CallerAttribution = {};
    try {
      await authenticateHeaders(toSignedRequest(request, NO_BODY), this.options.principals, attribution, this.nowMs(), {
        presigned: route.presigned === true,
      });
      this.passed.set(request, attribution);
      return undefined;
    } catch (error) {
      if (!isApiError(error)) throw error;
      closeIfBodyUnread(request, reply);
      if (attribution.principal === undefined) {
        this.options.unauthenticated.note(request.ip, error.code);
        sendRefusal(reply, route, error);
        return reply;
      }
      // A known caller's refusal is recorded as any of its calls is: the route's own handler
      // writes it and answers, without running the operation (the body stays unread).
      refuseBeforeBody(request, { error, attribution });
      await request.routeOptions.handler.call(request.server, request, reply);
      return reply;
    }
  }

  /** Unknown paths are answered without reading what they carry; other unsigned routes take no body. */
  private unsignedRoute(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    closeIfBodyUnread(request, reply);
    if (!request.is404 || !announcesBody(request)) return undefined;
    sendNoRoute(reply, request);
    return reply;
  }

  /**
   * Reserves the body's bytes in the in-flight budget before Fastify buffers it: the declared
   * length at once, a chunked body as it arrives. A refusal here is answered with the body unread.
   */
  private admitBody(request: FastifyRequest, reply: FastifyReply, payload: Readable): Readable {
    if (!this.passed.has(request) || !announcesBody(request)) return payload;
    const declared = request.headers["content-length"];
    if (declared === undefined) {
      const metered = this.options.budget.meter(payload, reply.raw);
      metered.once("error", () => closeIfBodyUnread(request, reply));
      return metered;
    }
    // Fastify refuses a declared length over the route's cap (413) without reading: nothing to hold.
    if (Number(declared) > request.routeOptions.bodyLimit) return payload;
    try {
      this.options.budget.holdUntilDone(reply.raw, Number(declared));
    } catch (error) {
      closeIfBodyUnread(request, reply);
      throw error;
    }
    return payload;
  }

  private nowMs(): number {
    return this.options.clock.nowMs();
  }
}

/** Whether a request says a body follows (Node has already refused malformed framing). */
function announcesBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

function sendRefusal(reply: FastifyReply, route: SignedRouteFacts, error: ApiError): void {
  senderOf(route.errorFormat)(reply, randomUUID(), error);
}
