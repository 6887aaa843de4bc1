import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { pruneKeys } from '../idempotency-keys.js';
import { setUpOrderService, type OrderTestContext } from './support.js';

let t: OrderTestContext;

beforeAll(async () => {
  t = await setUpOrderService();
});
afterEach(() => t.stub.reset());
afterAll(async () => t?.close());

function place(headers: Record<string, string>, key: string | undefined, payload: object) {
  return t.app.inject({ method: 'POST', url: '/orders', headers: { ...headers, ...(key ? { 'idempotency-key': key } : {}) }, payload });
}

async function ordersOf(userId: string): Promise<number> {
  const { rows } = await t.pool.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [userId]);
  return rows[0].n;
}

async function placedEventsOf(userId: string): Promise<number> {
  const { rows } = await t.pool.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'order.placed' AND payload->>'userId' = $1", [
    userId,
  ]);
  return rows[0].n;
}

describe('POST /orders with an Idempotency-Key', () => {
  test('when the same key and body come again, then the first answer is replayed byte for byte and one order exists', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    const first = await place(headers, key, { productId: product.id, quantity: 2 });
    const again = await place(headers, key, { quantity: 2, productId: product.id }); // same body, other key order
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await ordersOf(caller.id)).toBe(1);
    expect(await placedEventsOf(caller.id)).toBe(1);
  });

  test('when the same key comes with another body, then 409 and no second order', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    expect((await place(headers, key, { productId: product.id })).statusCode).toBe(201);
    const other = await place(headers, key, { productId: product.id, quantity: 3 });
    expect(other.statusCode).toBe(409);
    expect(other.json().error).toMatchObject({ code: 'conflict', message: expect.stringContaining('another body') });
    expect(await ordersOf(caller.id)).toBe(1);
  });

  test('when twenty requests with one key race, then one order is created and every answer is the same', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => place(headers, key, { productId: product.id })));
    expect(answers.map((answer) => answer.statusCode)).toEqual(answers.map(() => 201));
    expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
    expect(await ordersOf(caller.id)).toBe(1);
    expect(await placedEventsOf(caller.id)).toBe(1);
  });

  test('when the catalog changed since the first attempt, then the retry still gets the first answer', async () => {
    const { headers } = await t.signIn();
    const product = t.stub.add({ stock: 1 });
    const key = randomUUID();
    const first = await place(headers, key, { productId: product.id });
    product.stock = 0;
    t.stub.failStatus = 503; // the product service is even down now
    const again = await place(headers, key, { productId: product.id });
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
  });

  test('when the first attempt failed (product service down), then nothing is kept and the retry places the order', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    t.stub.failStatus = 503;
    expect((await place(headers, key, { productId: product.id })).statusCode).toBe(503);
    t.stub.reset();
    expect((await place(headers, key, { productId: product.id })).statusCode).toBe(201);
    expect(await ordersOf(caller.id)).toBe(1);
  });

  test('when another user sends the same key, then it is their own order', async () => {
    const alice = await t.signIn();
    const bob = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    const a = await place(alice.headers, key, { productId: product.id });
    const b = await place(bob.headers, key, { productId: product.id });
    expect(b.statusCode).toBe(201);
    expect(b.json().order.id).not.toBe(a.json().order.id);
    expect(b.json().order.userId).toBe(bob.caller.id);
  });

  test('when the key is older than 24 hours, then it no longer counts: a new order', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const key = randomUUID();
    expect((await place(headers, key, { productId: product.id })).statusCode).toBe(201);
    await t.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1", [caller.id]);
    const later = await place(headers, key, { productId: product.id, quantity: 5 });
    expect(later.statusCode).toBe(201);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(await ordersOf(caller.id)).toBe(2);
  });

  test('when there is no key, then every request is a new order', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    await place(headers, undefined, { productId: product.id });
    await place(headers, undefined, { productId: product.id });
    expect(await ordersOf(caller.id)).toBe(2);
  });

  test.each([['x'.repeat(256)], ['has space'], ['tab\there']])('when the key is %j, then 400 and no order', async (key) => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    const res = await place(headers, key, { productId: product.id });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
    expect(await ordersOf(caller.id)).toBe(0);
  });

  test('when keys pass their 24 hours, then pruning deletes them and only them', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    await place(headers, 'old-key', { productId: product.id });
    await place(headers, 'new-key', { productId: product.id });
    await t.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1 AND key = 'old-key'", [
      caller.id,
    ]);
    expect(await pruneKeys(t.pool)).toBeGreaterThanOrEqual(1);
    const { rows } = await t.pool.query('SELECT key FROM idempotency_keys WHERE user_id = $1', [caller.id]);
    expect(rows.map((row) => row.key)).toEqual(['new-key']);
  });
});
