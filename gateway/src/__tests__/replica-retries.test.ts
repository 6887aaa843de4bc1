import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NOT_PROCESSED_HEADER } from '@mini/shared';
import { ATTEMPT_HEADER, PICK_HEADER } from '../upstreams.js';
import { deadUrl, startEchoStub, startGateway, type EchoStub } from './stubs.js';

/** An upstream that answers every request but its probe 503, with or without the "not processed" mark. */
async function startUnavailable(marked: boolean): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    // Its /readyz still says ready: it began to close between two of the gateway's probes.
    if (req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    hits++;
    req.resume();
    req.on('end', () => {
      res.writeHead(503, {
        'content-type': 'application/json',
        connection: 'close',
        ...(marked ? { [NOT_PROCESSED_HEADER]: 'shutting-down' } : {}),
      });
      res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'busy' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let live: EchoStub;
let other: EchoStub;

beforeAll(async () => {
  [live, other] = await Promise.all([startEchoStub('orders'), startEchoStub('other')]);
});

afterAll(async () => {
  await Promise.all([live?.close(), other?.close()]);
});

/** What a stub received at /orders since `before`: not the gateway's readiness probes, which go on meanwhile. */
const ordersSince = (stub: EchoStub, before: number) => stub.requests.slice(before).filter((r) => r.url === '/orders');

function postOrder(url: string, n: number) {
  return fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) });
}

describe('a request no replica processed goes to another replica, whatever its method', () => {
  test('a refused connection (a replica that is down): every POST lands once on the live replica', async () => {
    const gateway = await startGateway({ upstreams: { users: [other.url], products: [other.url], orders: [await deadUrl(), live.url] } });
    try {
      const before = live.requests.length;
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, n) => postOrder(gateway.url, n).then((res) => res.status)));
      expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
      const bodies = ordersSince(live, before).map((r) => (JSON.parse(r.body.toString()) as { n: number }).n);
      expect(bodies.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
      // The gateway's own steering headers stay inside the gateway.
      expect(ordersSince(live, before).every((r) => !(PICK_HEADER in r.headers) && !(ATTEMPT_HEADER in r.headers))).toBe(true);
    } finally {
      await gateway.app.close();
    }
  });

  test('a replica shutting down (503 marked not processed): the request is sent again, and the mark never reaches the client', async () => {
    const closing = await startUnavailable(true);
    const gateway = await startGateway({ upstreams: { users: [other.url], products: [other.url], orders: [closing.url, live.url] } });
    try {
      const before = live.requests.length;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => postOrder(gateway.url, n)));
      expect(answers.map((res) => res.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect(answers.every((res) => !res.headers.has(NOT_PROCESSED_HEADER))).toBe(true);
      expect(ordersSince(live, before)).toHaveLength(10);
      expect(closing.hits()).toBeGreaterThan(0);
    } finally {
      await gateway.app.close();
      await closing.close();
    }
  });

  test('a replica whose /readyz says it is not ready (draining for a restart) gets no requests while another is ready', async () => {
    const draining = await startEchoStub('draining');
    draining.readyStatus = 503;
    const gateway = await startGateway({ upstreams: { users: [other.url], products: [other.url], orders: [draining.url, live.url] } });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const before = live.requests.length;
      const statuses = await Promise.all(Array.from({ length: 10 }, (_, n) => postOrder(gateway.url, n).then((res) => res.status)));
      expect(statuses).toEqual(Array.from({ length: 10 }, () => 200));
      expect(ordersSince(live, before)).toHaveLength(10);
      expect(draining.requests.filter((r) => r.url === '/orders')).toHaveLength(0);
    } finally {
      await gateway.app.close();
      await draining.close();
    }
  });

  test('a plain 503 (the service could not do it) is the answer: not sent again', async () => {
    const unavailable = await startUnavailable(false);
    const gateway = await startGateway({ upstreams: { users: [other.url], products: [other.url], orders: [unavailable.url] } });
    try {
      const res = await postOrder(gateway.url, 1);
      expect(res.status).toBe(503);
      expect(unavailable.hits()).toBe(1);
    } finally {
      await gateway.app.close();
      await unavailable.close();
    }
  });

  test('every replica refusing: a 503 envelope after a bounded number of tries', async () => {
    const gateway = await startGateway({ upstreams: { users: [other.url], products: [other.url], orders: [await deadUrl(), await deadUrl()] } });
    try {
      const started = Date.now();
      const res = await postOrder(gateway.url, 1);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await gateway.app.close();
    }
  });
});
