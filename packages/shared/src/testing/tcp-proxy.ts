import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy whose link to the target a test can cut and restore. */
export interface TcpProxy {
  /** The port on 127.0.0.1 that forwards to the target. */
  port: number;
  /** Destroys every proxied connection and refuses new ones, as a broker outage would. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a TCP proxy on 127.0.0.1 in front of `target` (for fault-injection tests). */
export async function startTcpProxy({ target }: { target: { host: string; port: number } }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(socket);
      socket.on('error', () => peer.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        peer.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listen(server, 0);
  let listening = true;

  const cut = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    port,
    cut,
    async restore() {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    close: cut,
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('proxy has no port'));
    });
  });
}
