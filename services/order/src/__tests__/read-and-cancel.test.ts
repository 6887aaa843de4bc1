import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createPool, createTokenVerifier } from '@mini/shared';
import { freePort } from '@mini/shared/testing';
import { buildApp } from '../app.js';
import { createProductClient } from '../clients/product-client.js';
import { setUpOrderService, type OrderTestContext } from './support.js';

type Headers = Record<string, string>;

let t: OrderTestContext;

beforeAll(async () => {
  t = await setUpOrderService();
});
afterAll(async () => t?.close());

/** Places an order of one fresh product; returns the order. */
async function place(headers: Headers, body: Record<string, unknown> = {}) {
  const product = t.stub.add();
  const res = await t.app.inject({ method: 'POST', url: '/orders', headers, payload: { productId: product.id, ...body } });
  expect(res.statusCode).toBe(201);
  return res.json().order as { id: string; userId: string; status: string; createdAt: string; updatedAt: string };
}

function get(url: string, headers: Headers = {}) {
  return t.app.inject({ method: 'GET', url, headers });
}

function cancel(id: string, headers: Headers = {}) {
  return t.app.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers });
}

async function setStatus(id: string, status: string) {
  await t.pool.query('UPDATE orders SET status = $2 WHERE id = $1', [id, status]);
}

describe('GET /orders', () => {
  test('when a user lists, then only their own orders come, newest first, with lines and the total count', async () => {
    const alice = await t.signIn();
    const bob = await t.signIn();
    const first = await place(alice.headers);
    const second = await place(alice.headers, { quantity: 2 });
    await place(bob.headers);

    const res = await get('/orders', alice.headers);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ total: 2, limit: 20, offset: 0 });
    expect(body.orders.map((o: { id: string }) => o.id)).toEqual([second.id, first.id]);
    expect(body.orders[0].items).toEqual([expect.objectContaining({ quantity: 2 })]);
    expect(body.orders[1].items).toEqual([expect.objectContaining({ quantity: 1 })]);
  });

  test('when a user has no orders, then an empty page with total 0', async () => {
    const { headers } = await t.signIn();
    expect((await get('/orders', headers)).json()).toEqual({ orders: [], total: 0, limit: 20, offset: 0 });
  });

  test('when paging, then limit and offset slice the newest-first list and total stays the count', async () => {
    const { headers } = await t.signIn();
    const placed = [await place(headers), await place(headers), await place(headers)];
    const newestFirst = placed.map((o) => o.id).reverse();
    const page1 = (await get('/orders?limit=2', headers)).json();
    const page2 = (await get('/orders?limit=2&offset=2', headers)).json();
    const beyond = (await get('/orders?limit=2&offset=10', headers)).json();
    expect(page1).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(page1.orders.map((o: { id: string }) => o.id)).toEqual(newestFirst.slice(0, 2));
    expect(page2).toMatchObject({ total: 3, limit: 2, offset: 2 });
    expect(page2.orders.map((o: { id: string }) => o.id)).toEqual(newestFirst.slice(2));
    expect(beyond).toEqual({ orders: [], total: 3, limit: 2, offset: 10 });
  });

  test.each(['limit=0', 'limit=101', 'offset=-1', 'limit=x', 'userId=nope', 'other=1'])(
    'when the query has %s, then 400',
    async (query) => {
      const { headers } = await t.signIn();
      const res = await get(`/orders?${query}`, headers);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    },
  );

  test("when an admin lists, then everyone's orders come", async () => {
    const admin = await t.signIn('admin');
    const alice = await t.signIn();
    const bob = await t.signIn();
    const a = await place(alice.headers);
    const b = await place(bob.headers);
    const res = await get('/orders?limit=100', admin.headers);
    expect(res.statusCode).toBe(200);
    const ids = res.json().orders.map((o: { id: string }) => o.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id)); // newest first
    expect(res.json().total).toBeGreaterThanOrEqual(2);
  });

  test("when an admin filters by userId, then only that user's orders come", async () => {
    const admin = await t.signIn('admin');
    const alice = await t.signIn();
    const bob = await t.signIn();
    const a1 = await place(alice.headers);
    const a2 = await place(alice.headers);
    await place(bob.headers);
    const res = await get(`/orders?userId=${alice.caller.id}`, admin.headers);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 2 });
    expect(res.json().orders.map((o: { id: string }) => o.id)).toEqual([a2.id, a1.id]);
  });

  test("when a user filters by someone else's userId, then 403; by their own, then their orders", async () => {
    const alice = await t.signIn();
    const bob = await t.signIn();
    const mine = await place(alice.headers);
    await place(bob.headers);
    const other = await get(`/orders?userId=${bob.caller.id}`, alice.headers);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('forbidden');
    const own = await get(`/orders?userId=${alice.caller.id}`, alice.headers);
    expect(own.statusCode).toBe(200);
    expect(own.json().orders.map((o: { id: string }) => o.id)).toEqual([mine.id]);
  });
});

describe('GET /orders/:id', () => {
  test('when the owner asks, then 200 with the order', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    const res = await get(`/orders/${order.id}`, headers);
    expect(res.statusCode).toBe(200);
    expect(res.json().order).toEqual(order);
  });

  test('when another user asks, then 404 as if it did not exist', async () => {
    const owner = await t.signIn();
    const other = await t.signIn();
    const order = await place(owner.headers);
    const res = await get(`/orders/${order.id}`, other.headers);
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({ code: 'not_found', message: 'order not found' });
  });

  test('when an admin asks, then 200', async () => {
    const owner = await t.signIn();
    const admin = await t.signIn('admin');
    const order = await place(owner.headers);
    const res = await get(`/orders/${order.id}`, admin.headers);
    expect(res.statusCode).toBe(200);
    expect(res.json().order.id).toBe(order.id);
  });

  test('when the id is unknown, then 404', async () => {
    const { headers } = await t.signIn();
    const res = await get(`/orders/${randomUUID()}`, headers);
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({ code: 'not_found', message: 'order not found' });
  });

  test.each(['not-a-uuid', `urn:uuid:${randomUUID()}`, '123'])('when the id is malformed (%s), then 400', async (id) => {
    const { headers } = await t.signIn();
    const res = await get(`/orders/${id}`, headers);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('POST /orders/:id/cancel', () => {
  test('when the owner cancels a confirmed order, then 200 cancelled, and it reads cancelled afterwards', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    await setStatus(order.id, 'confirmed');
    const res = await cancel(order.id, headers);
    expect(res.statusCode).toBe(200);
    const cancelled = res.json().order;
    expect(cancelled).toMatchObject({
      id: order.id,
      status: 'cancelled',
      items: [expect.objectContaining({ quantity: 1 })],
      createdAt: order.createdAt,
    });
    expect(new Date(cancelled.updatedAt).getTime()).toBeGreaterThan(new Date(order.updatedAt).getTime());
    expect((await get(`/orders/${order.id}`, headers)).json().order.status).toBe('cancelled');
  });

  test('when an order is cancelled twice, then the second answer is 409', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    expect((await cancel(order.id, headers)).statusCode).toBe(200);
    const again = await cancel(order.id, headers);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'conflict', message: 'an order that is cancelled cannot be cancelled' });
  });

  test('when the order is pending, then it can be cancelled', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    await setStatus(order.id, 'pending');
    const res = await cancel(order.id, headers);
    expect(res.statusCode).toBe(200);
    expect(res.json().order.status).toBe('cancelled');
  });

  test('when the order was rejected, then 409 and it stays rejected', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    await setStatus(order.id, 'rejected');
    expect((await cancel(order.id, headers)).statusCode).toBe(409);
    expect((await get(`/orders/${order.id}`, headers)).json().order.status).toBe('rejected');
  });

  test('when five cancels race, then exactly one wins, the others are 409, and one order.cancelled event is stored', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    const answers = await Promise.all(Array.from({ length: 5 }, () => cancel(order.id, headers)));
    expect(answers.map((res) => res.statusCode).sort()).toEqual([200, 409, 409, 409, 409]);
    const { rows } = await t.pool.query("SELECT type, payload FROM outbox WHERE payload->>'orderId' = $1 ORDER BY seq", [order.id]);
    expect(rows.map((row) => row.type)).toEqual(['order.placed', 'order.cancelled']);
    expect(rows[1].payload).toEqual({ orderId: order.id });
  });

  test('when a cancel is refused (409), then no order.cancelled event is stored', async () => {
    const { headers } = await t.signIn();
    const order = await place(headers);
    await setStatus(order.id, 'rejected');
    expect((await cancel(order.id, headers)).statusCode).toBe(409);
    const { rows } = await t.pool.query("SELECT type FROM outbox WHERE payload->>'orderId' = $1", [order.id]);
    expect(rows.map((row) => row.type)).toEqual(['order.placed']);
  });

  test('when another user tries to cancel, then 404 and the order stays as it was', async () => {
    const owner = await t.signIn();
    const other = await t.signIn();
    const order = await place(owner.headers);
    const res = await cancel(order.id, other.headers);
    expect(res.statusCode).toBe(404);
    expect((await get(`/orders/${order.id}`, owner.headers)).json().order.status).toBe('pending');
  });

  test("when an admin cancels a user's order, then 200 cancelled", async () => {
    const owner = await t.signIn();
    const admin = await t.signIn('admin');
    const order = await place(owner.headers);
    const res = await cancel(order.id, admin.headers);
    expect(res.statusCode).toBe(200);
    expect(res.json().order).toMatchObject({ status: 'cancelled', userId: owner.caller.id });
  });

  test('when the id is unknown, then 404; when malformed, then 400', async () => {
    const { headers } = await t.signIn();
    expect((await cancel(randomUUID(), headers)).statusCode).toBe(404);
    expect((await cancel('nope', headers)).statusCode).toBe(400);
  });
});

describe('authentication', () => {
  test.each([
    ['GET', '/orders'],
    ['GET', `/orders/${randomUUID()}`],
    ['POST', `/orders/${randomUUID()}/cancel`],
    ['POST', '/orders'],
  ] as const)('when %s %s has no token, then 401', async (method, url) => {
    const res = await t.app.inject({ method, url });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
  });

  test('when the token has expired, then 401 "token expired"', async () => {
    const token = await t.issuer.sign(
      { id: randomUUID(), username: 'old', role: 'user' },
      { issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresIn: Math.floor(Date.now() / 1000) - 3600 },
    );
    const res = await get('/orders', { authorization: `Bearer ${token}` });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe('token expired');
  });
});

describe('probes and docs', () => {
  test('GET /readyz: when the product service is down, then still ready (the database is all it needs)', async () => {
    const app = await t.startApp({ productUrl: `http://127.0.0.1:${await freePort()}` });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ service: 'order-service', status: 'ready', checks: { database: 'ok' } });
  });

  test('GET /readyz: when the database is unreachable, then 503', async () => {
    const pool = createPool(`postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`);
    const productClient = createProductClient({ baseUrl: t.stub.url });
    const verifyToken = createTokenVerifier({ keys: t.issuer.keys, issuer: t.issuer.issuer, audience: t.issuer.audience });
    const app = await buildApp({ pool, logger: createLogger('order-service', { level: 'silent' }), verifyToken, productClient });
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toBe('not ready: database down');
    } finally {
      await app.close();
      await productClient.close();
      await pool.end();
    }
  });

  test('GET /healthz: alive', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.json()).toMatchObject({ service: 'order-service', status: 'ok' });
  });

  test('GET /openapi.json: every order route, tagged, secured, with its error responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operations = [
      [doc.paths['/orders'].post, ['201', '400', '401', '403', '409', '502', '503', '504']],
      [doc.paths['/orders'].get, ['200', '400', '401', '403']],
      [doc.paths['/orders/{id}'].get, ['200', '400', '401', '404']],
      [doc.paths['/orders/{id}/cancel'].post, ['200', '400', '401', '404', '409']],
    ] as const;
    for (const [operation, statuses] of operations) {
      expect(operation.tags).toEqual(['orders']);
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining([...statuses]));
    }
    expect(doc.paths['/orders'].post.requestBody.content['application/json'].schema).toMatchObject({
      if: expect.any(Object),
      then: expect.any(Object),
      else: expect.any(Object),
    });
  });
});
