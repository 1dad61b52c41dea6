import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One request a receiver got. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** Answers one request; may leave the response open (a slow endpoint) until the receiver closes. */
export type ReceiverHandler = (request: ReceivedRequest, response: ServerResponse) => void;

/** A real HTTP server on 127.0.0.1 and a free port that records every request and answers as told. */
export interface HttpReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Handlers used in turn, one per request; the last one keeps answering. Default: 200 `{}`. */
  answerWith(...handlers: ReceiverHandler[]): void;
  close(): Promise<void>;
}

export function answer(status: number, headers: Record<string, string> = {}, body = ""): ReceiverHandler {
  return (_request, response) => {
    response.writeHead(status, headers);
    response.end(body);
  };
}

/** Starts a receiver; close it in an `after` hook (it destroys open connections, slow answers too). */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let handlers: ReceiverHandler[] = [answer(200, { "content-type": "application/json" }, "{}")];
  const sockets = new Set<Socket>();
  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const request = {
        method: incoming.method ?? "",
        url: incoming.url ?? "",
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(request);
      const handler = handlers.length > 1 ? handlers.shift()! : handlers[0]!;
      handler(request, response);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answerWith: (...next) => {
      handlers = next;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
