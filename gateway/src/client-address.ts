import type { Server } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { TrustProxy } from './config.js';

/** Whether a peer at `address` is a proxy whose word about the client's address counts. */
export function proxyTrust(trustProxy: TrustProxy): (address: string) => boolean {
  if (typeof trustProxy === 'boolean') return () => trustProxy;
  if (typeof trustProxy === 'number') return () => trustProxy > 0;
  const trusted = proxyAddr.compile(trustProxy);
  return (address) => trusted(address, 0);
}

/**
 * At most `max` open connections per client address: one client cannot hold every socket (a
 * slow-loris flood). Trusted proxies carry many clients and are not capped. An extra
 * connection is closed at once.
 */
export function capConnectionsPerClient(server: Server, max: number, trustsAddress: (address: string) => boolean): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress;
    if (!address || trustsAddress(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
