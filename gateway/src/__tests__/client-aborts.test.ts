import { createServer, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { App, Logger } from '@mini/shared';
import { buildApp } from '../app.js';

// A client that hangs up before (or while) its answer arrives is routine, not a failure: the
// gateway logs it as one info line, without a stack, and nothing at warn or error.
const lines: Record<string, unknown>[] = [];
const upstreamUrls: string[] = [];
let upstream: Server;
let gateway: App;
let port: number;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    upstreamUrls.push(req.url ?? '');
    if (req.url === '/products/slow') {
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), 300);
    } else if (req.url === '/products/trickle') {
      // Headers and half the body at once, the rest later: the client leaves in between.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"half":"${'x'.repeat(64 * 1024)}`);
      setTimeout(() => res.end('"}'), 300);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink) as unknown as Logger;
  gateway = await buildApp({ logger, upstreams: { users: [origin], products: [origin], orders: [origin] } });
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  port = (gateway.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await gateway.close();
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** Sends a GET with request id `id` and hangs up once what it received satisfies `until`, or after 100 ms. */
async function hangUp(path: string, id: string, until: (received: string) => boolean = () => false) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = '';
  await new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until(received)) resolve();
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: shop\r\nX-Request-Id: ${id}\r\n\r\n`);
    setTimeout(resolve, 100);
  });
  socket.destroy();
}

const linesOf = (id: string) => lines.filter((line) => line.reqId === id);

describe('a client that hangs up', () => {
  test('when it leaves before the upstream answered, then one info line "client aborted", nothing worse', async () => {
    await hangUp('/products/slow', 'abort-early');
    await vi.waitFor(() => expect(linesOf('abort-early')).toHaveLength(1));
    // The upstream answers after the client left: that must not add a line either.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(linesOf('abort-early')).toEqual([
      expect.objectContaining({ level: 30, msg: 'client aborted', method: 'GET', url: '/products/slow' }),
    ]);
    expect(JSON.stringify(linesOf('abort-early'))).not.toContain('stack');
  });

  test('when it leaves in the middle of the answer body, then one info line "client aborted", nothing worse', async () => {
    await hangUp('/products/trickle', 'abort-midway', (received) => received.includes('"half"'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(linesOf('abort-midway')).toEqual([expect.objectContaining({ level: 30, msg: 'client aborted' })]);
  });

  test('when it leaves in the middle of its own request body, then one info line "client aborted", and nothing goes upstream', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /products/half-sent HTTP/1.1\r\nHost: shop\r\nX-Request-Id: abort-body\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await vi.waitFor(() => expect(linesOf('abort-body')).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(linesOf('abort-body')).toEqual([expect.objectContaining({ level: 30, msg: 'client aborted', url: '/products/half-sent' })]);
    expect(upstreamUrls).not.toContain('/products/half-sent');
  });

  test('when it stays, then its request is logged as completed, once', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/products/fine`, { headers: { 'x-request-id': 'stays' } });
    expect(res.status).toBe(200);
    await res.body?.cancel();
    await vi.waitFor(() =>
      expect(linesOf('stays')).toEqual([expect.objectContaining({ level: 30, msg: 'request completed', statusCode: 200 })]),
    );
  });

  test('no line at warn or above was logged by any of these', () => {
    expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
  });
});
