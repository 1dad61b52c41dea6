import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import { cairnExpress, cairnFastify, type CairnMiddlewareOptions } from "../../src/capture/middleware/index.js";
import type { UserIdentity } from "../../src/model/record.js";
import { TEST_ACCOUNT_ID } from "../helpers/server-process.js";

/**
 * The same small "orders" API written for Express and for Fastify, each recording its calls with the
 * Cairn middleware. The caller is named by an `x-user` header, which the identity resolver maps to
 * an IAM user (what an app would do with its session or token).
 */
export interface TestApp {
  readonly url: string;
  stop(): Promise<void>;
}

function identityOfUser(header: string | string[] | undefined): UserIdentity | undefined {
  if (typeof header !== "string") return undefined;
  return {
    type: "IAMUser",
    principalId: `AIDA${header.toUpperCase()}`,
    arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/${header}`,
    accountId: TEST_ACCOUNT_ID,
    userName: header,
  };
}

type Common = Omit<CairnMiddlewareOptions<unknown>, "identity" | "eventName" | "readOnly" | "requestParameters">;

export async function startExpressApp(options: Common): Promise<TestApp> {
  const app = express();
  // "test" keeps the default error handler from printing the thrown error's stack.
  app.set("env", "test");
  const cairn = cairnExpress({ ...options, identity: (req) => identityOfUser(req.headers["x-user"]) });
  app.use(cairn);
  app.use(express.json());
  app.post("/orders", (req, res) => {
    res.status(201).json({ orderId: "o-1", item: (req.body as { item?: string }).item });
  });
  app.get("/orders/:orderId", (req, res) => {
    if (req.params.orderId === "missing") {
      res.status(404).json({ code: "OrderNotFound", message: `Order ${req.params.orderId} does not exist.` });
    } else res.json({ orderId: req.params.orderId });
  });
  app.post("/login", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/boom", () => {
    throw new Error("kaput");
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await cairn.close();
    },
  };
}

export async function startFastifyApp(options: Common): Promise<TestApp> {
  const app: FastifyInstance = Fastify();
  await app.register(cairnFastify, { ...options, identity: (req) => identityOfUser(req.headers["x-user"]) });
  app.post("/orders", { config: { eventName: "CreateOrder" } }, async (request, reply) => {
    return reply.code(201).send({ orderId: "o-2", item: (request.body as { item?: string }).item });
  });
  app.get("/orders/:orderId", async (request, reply) => {
    const { orderId } = request.params as { orderId: string };
    if (orderId === "missing") {
      return reply.code(404).send({ code: "OrderNotFound", message: `Order ${orderId} does not exist.` });
    }
    return { orderId };
  });
  app.post("/login", async () => ({ ok: true }));
  app.get("/boom", async () => {
    throw new Error("kaput");
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    async stop() {
      await app.close();
    },
  };
}
