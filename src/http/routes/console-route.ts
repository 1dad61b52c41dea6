import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import type { ApiService } from "./cloudtrail-route.js";

/** Where `npm run build` puts the built web console (console/ → dist/console/). */
const CONSOLE_ROOT = fileURLToPath(new URL("../../../console/", import.meta.url));

/**
 * The console is static files: the browser signs its own CloudTrail API calls, so the server adds
 * no route of its own for it. The policy keeps its pages from loading anything but this origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // CodeMirror and the chart library set inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/**
 * `services`: the API's services on `GET /` (an SNS SubscribeURL), each taking the requests its
 * `accepts` picks; any other GET of `/` is the console's.
 */
export async function registerConsoleRoute(
  app: FastifyInstance,
  root: string = CONSOLE_ROOT,
  services: readonly ApiService[] = [],
): Promise<void> {
  app.get("/console", async (_request, reply) => reply.redirect("/console/", 301));
  // A browser that opens the API's address lands in the console; API clients POST and never see this.
  app.get("/", async function (request, reply) {
    const service = services.find((candidate) => candidate.accepts(request));
    if (service !== undefined) return service.handler.call(this, request, reply);
    if ((request.headers.accept ?? "").includes("text/html")) return reply.redirect("/console/", 302);
    return reply
      .code(404)
      .type("application/json")
      .send(JSON.stringify({ message: "Cairn: the CloudTrail API is POST /; the web console is at /console/." }));
  });
  if (!existsSync(`${root}/index.html`)) {
    app.get("/console/*", async (_request, reply) =>
      reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send("The Cairn console is not built. Run `npm run build` (npm install does it) and restart the server.\n"),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/console/",
    index: ["index.html"],
    cacheControl: false,
    // scripts/compress-console.js writes .br and .gz beside each asset at build time.
    preCompressed: true,
    setHeaders(response, path) {
      response.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
      response.setHeader("x-content-type-options", "nosniff");
      response.setHeader("referrer-policy", "no-referrer");
      // The same URL answers Brotli, gzip or plain by Accept-Encoding; a shared cache must keep them apart.
      response.setHeader("vary", "accept-encoding");
      // Vite fingerprints assets, so they never change under the same name; index.html always revalidates.
      response.setHeader(
        "cache-control",
        path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
}
