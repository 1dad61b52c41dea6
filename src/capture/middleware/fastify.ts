/**
 * `cairnFastify`: a Fastify (v5) plugin recording each call as a CloudTrail event after the response
 * is sent. Registered with `app.register(cairnFastify, options)`; it is not encapsulated (like
 * plugins wrapped by `fastify-plugin`), so it sees every route of the app. A route can name its event
 * with `config: { eventName: "CreateOrder" }`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import { plainAddress } from "./http-call.js";
import type { CairnMiddlewareOptions } from "./options.js";
import { createRecorder } from "./recorder.js";

export type CairnFastifyOptions = CairnMiddlewareOptions<FastifyRequest>;

interface Exchange {
  readonly requestID: string;
  body: Buffer | undefined;
}

async function plugin(app: FastifyInstance, options: CairnFastifyOptions): Promise<void> {
  const recorder = createRecorder(options);
  const exchanges = new WeakMap<FastifyRequest, Exchange>();

  app.addHook("onRequest", async (request, reply) => {
    const exchange: Exchange = { requestID: recorder.newRequestId(), body: undefined };
    exchanges.set(request, exchange);
    if (recorder.requestIdHeader !== false) void reply.header(recorder.requestIdHeader, exchange.requestID);
  });

  // Serialized payloads are strings or Buffers; streams pass by uncaptured.
  app.addHook("onSend", async (request, _reply, payload) => {
    const exchange = exchanges.get(request);
    const bytes = typeof payload === "string" ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined;
    if (exchange !== undefined && bytes !== undefined && bytes.length <= recorder.responseBytesMax) {
      exchange.body = bytes;
    }
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    const exchange = exchanges.get(request);
    const url = request.url;
    const question = url.indexOf("?");
    const config = request.routeOptions.config as { eventName?: unknown } | undefined;
    const contentType = reply.getHeader("content-type");
    const sentId = recorder.requestIdHeader === false ? undefined : reply.getHeader(recorder.requestIdHeader);
    recorder.record(request, {
      method: request.method,
      routeTemplate: request.routeOptions.url,
      routeName: typeof config?.eventName === "string" ? config.eventName : undefined,
      path: question === -1 ? url : url.slice(0, question),
      params: request.params,
      query: request.query,
      body: request.body,
      status: reply.statusCode,
      responseContentType: typeof contentType === "string" ? contentType : undefined,
      responseBody: exchange?.body,
      requestID:
        typeof sentId === "string" && sentId !== "" ? sentId : (exchange?.requestID ?? recorder.newRequestId()),
      sourceIPAddress: plainAddress(request.ip),
      userAgent: request.headers["user-agent"],
      // eslint-disable-next-line no-restricted-properties -- the host app's call happened now; the middleware takes no clock
      completedAtMs: Date.now(),
    });
  });

  app.addHook("onClose", async () => {
    await recorder.close();
  });
}

/** What `fastify-plugin` does: skip encapsulation so the hooks apply to the whole app. */
Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "cairn",
  [Symbol.for("plugin-meta")]: { name: "cairn", fastify: "5.x" },
});

export const cairnFastify: FastifyPluginAsync<CairnFastifyOptions> = plugin;
