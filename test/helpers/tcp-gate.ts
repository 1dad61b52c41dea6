import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP pass-through on 127.0.0.1 that can be closed and reopened on the same port: a real network
 * outage between Cairn and its S3 endpoint, without losing the endpoint's state.
 */
export interface TcpGate {
  readonly url: string;
  close(): Promise<void>;
  open(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const open = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
    const address = server.address();
    port = typeof address === "object" && address !== null ? address.port : port;
  };
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  };
  await open();
  return { url: `http://127.0.0.1:${port}`, open, close, stop: close };
}
