import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createTestIssuer, freePort } from '@mini/shared/testing';
import { insertOrder } from '../repository.js';
import { setUpOrderService, startProductStub, type OrderTestContext } from './support.js';

type Headers = Record<string, string>;

let t: OrderTestContext;

beforeAll(async () => {
  t = await setUpOrderService();
});
afterEach(() => t.stub.reset());
afterAll(async () => t?.close());

function placeOrder(headers: Headers, payload: unknown, app = t.app) {
  return app.inject({ method: 'POST', url: '/orders', headers, payload: payload as object });
}

async function orderIdsOf(headers: Headers): Promise<string[]> {
  const res = await t.app.inject({ method: 'GET', url: '/orders?limit=100', headers });
  expect(res.statusCode).toBe(200);
  return res.json().orders.map((order: { id: string }) => order.id);
}

describe('POST /orders: placing', () => {
  test('when one productId is given without quantity, then 201 with one line of quantity 1, pending, owned by the caller', async () => {
    const { caller, headers } = await t.signIn();
    const mug = t.stub.add({ name: 'Mug', price: 19.99, stock: 5 });
    const res = await placeOrder(headers, { productId: mug.id });
    expect(res.statusCode).toBe(201);
    const { order } = res.json();
    expect(order).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: caller.id,
      status: 'pending',
      items: [{ productId: mug.id, name: 'Mug', unitPrice: 19.99, quantity: 1, lineTotal: 19.99 }],
      total: 19.99,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(new Date(order.createdAt).toISOString()).toBe(order.createdAt);
    expect(res.headers.location).toBe(`/orders/${order.id}`);
    expect(await orderIdsOf(headers)).toEqual([order.id]);
    // Stored with it, in the same transaction: the event that asks the product service to reserve.
    const { rows } = await t.pool.query("SELECT type, payload FROM outbox WHERE payload->>'orderId' = $1", [order.id]);
    expect(rows).toEqual([
      { type: 'order.placed', payload: { orderId: order.id, userId: caller.id, lines: [{ productId: mug.id, quantity: 1 }] } },
    ]);
  });

  test('when one productId is given with a quantity, then the line has that quantity', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add({ price: 2.5 });
    const res = await placeOrder(headers, { productId: mug.id, quantity: 4 });
    expect(res.statusCode).toBe(201);
    expect(res.json().order).toMatchObject({ items: [{ quantity: 4, unitPrice: 2.5, lineTotal: 10 }], total: 10 });
  });

  test('when items are given, then lines keep their order and the total is summed in cents (3 x 19.99 + 2 x 0.10 = 60.17)', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add({ name: 'Mug', price: 19.99 });
    const sticker = t.stub.add({ name: 'Sticker', price: 0.1 });
    const res = await placeOrder(headers, {
      items: [
        { productId: mug.id, quantity: 3 },
        { productId: sticker.id, quantity: 2 },
      ],
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().order).toMatchObject({
      items: [
        { productId: mug.id, name: 'Mug', unitPrice: 19.99, quantity: 3, lineTotal: 59.97 },
        { productId: sticker.id, name: 'Sticker', unitPrice: 0.1, quantity: 2, lineTotal: 0.2 },
      ],
      total: 60.17,
    });
    expect(res.body).toContain('"total":60.17');
  });

  test('when prices would drift in floating point (0.10 + 0.20), then the total is exactly 0.3', async () => {
    const { headers } = await t.signIn();
    const a = t.stub.add({ price: 0.1 });
    const b = t.stub.add({ price: 0.2 });
    const res = await placeOrder(headers, {
      items: [
        { productId: a.id, quantity: 1 },
        { productId: b.id, quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).toContain('"total":0.3,');
  });

  test('when an order has 3 lines, then the product service gets exactly ONE request naming all 3', async () => {
    const { headers } = await t.signIn();
    const products = [t.stub.add(), t.stub.add(), t.stub.add()];
    const before = t.stub.requests.length;
    const res = await placeOrder(headers, { items: products.map((p) => ({ productId: p.id, quantity: 1 })) });
    expect(res.statusCode).toBe(201);
    expect(t.stub.requests.length - before).toBe(1);
    expect(t.stub.requests.at(-1)!.searchParams.get('ids')!.split(',').sort()).toEqual(products.map((p) => p.id).sort());
  });

  test('when the catalog changes after the order, then the order still shows the name and price it was placed with', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add({ name: 'Mug', price: 19.99 });
    const placed = (await placeOrder(headers, { productId: mug.id, quantity: 2 })).json().order;
    t.stub.catalog.set(mug.id, { ...mug, name: 'Mug (new edition)', price: 25 });

    const read = await t.app.inject({ method: 'GET', url: `/orders/${placed.id}`, headers });
    expect(read.json().order.items).toEqual([{ productId: mug.id, name: 'Mug', unitPrice: 19.99, quantity: 2, lineTotal: 39.98 }]);
    expect(read.json().order.total).toBe(39.98);

    const again = await placeOrder(headers, { productId: mug.id });
    expect(again.json().order.items[0]).toMatchObject({ name: 'Mug (new edition)', unitPrice: 25 });
  });

  test('when the quantity equals the stock, then the order is placed', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add({ stock: 3 });
    expect((await placeOrder(headers, { productId: mug.id, quantity: 3 })).statusCode).toBe(201);
  });

  test('when productId is in upper case, then it is accepted and stored in lower case', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add();
    const res = await placeOrder(headers, { productId: mug.id.toUpperCase() });
    expect(res.statusCode).toBe(201);
    expect(res.json().order.items[0].productId).toBe(mug.id);
  });
});

describe('POST /orders: products that do not exist or are short', () => {
  test('when the product does not exist, then 400 "product not found" naming it, and no order is stored', async () => {
    const { headers } = await t.signIn();
    const unknown = randomUUID();
    const res = await placeOrder(headers, { productId: unknown });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({
      code: 'validation_error',
      message: 'product not found',
      details: [{ path: 'productId', message: `product ${unknown} not found`, productId: unknown }],
    });
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when some items do not exist, then 400 naming each missing id with its line, and no order is stored', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add();
    const [x, y] = [randomUUID(), randomUUID()];
    const res = await placeOrder(headers, {
      items: [
        { productId: x, quantity: 1 },
        { productId: mug.id, quantity: 1 },
        { productId: y, quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('product not found');
    expect(res.json().error.details).toEqual([
      { path: 'items.0.productId', message: `product ${x} not found`, productId: x },
      { path: 'items.2.productId', message: `product ${y} not found`, productId: y },
    ]);
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when a quantity is over the stock, then 409 "insufficient stock" with requested and available, and no order is stored', async () => {
    const { headers } = await t.signIn();
    const plenty = t.stub.add({ stock: 100 });
    const scarce = t.stub.add({ stock: 2 });
    const res = await placeOrder(headers, {
      items: [
        { productId: plenty.id, quantity: 1 },
        { productId: scarce.id, quantity: 3 },
      ],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toEqual({
      code: 'conflict',
      message: 'insufficient stock',
      details: [{ path: 'items.1.quantity', message: '3 requested, 2 in stock', productId: scarce.id, requested: 3, available: 2 }],
    });
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when the product is out of stock, then 409', async () => {
    const { headers } = await t.signIn();
    const gone = t.stub.add({ stock: 0 });
    const res = await placeOrder(headers, { productId: gone.id });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.details[0]).toMatchObject({ path: 'quantity', requested: 1, available: 0 });
  });
});

describe('POST /orders: when the product service fails', () => {
  test('when nothing listens at the product service URL, then 503 in well under a second and no order is stored', async () => {
    const { headers } = await t.signIn();
    const app = await t.startApp({ productUrl: `http://127.0.0.1:${await freePort()}` });
    const started = performance.now();
    const res = await placeOrder(headers, { productId: t.stub.add().id }, app);
    expect(performance.now() - started).toBeLessThan(500);
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toEqual({ code: 'service_unavailable', message: 'product service is unavailable' });
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when the product service was stopped, then 503 and no order is stored', async () => {
    const { headers } = await t.signIn();
    const doomed = await startProductStub();
    const product = doomed.add();
    const app = await t.startApp({ productUrl: doomed.url });
    expect((await placeOrder(headers, { productId: product.id }, app)).statusCode).toBe(201); // a kept-alive connection now exists
    await doomed.close();
    const res = await placeOrder(headers, { productId: product.id }, app);
    expect(res.statusCode).toBe(503);
    expect((await orderIdsOf(headers)).length).toBe(1);
  });

  test('when the product service answers 500, then 503 and no order is stored', async () => {
    const { headers } = await t.signIn();
    t.stub.failStatus = 500;
    const res = await placeOrder(headers, { productId: t.stub.add().id });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('service_unavailable');
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when the product service answers garbage, then 502 bad_gateway', async () => {
    const { headers } = await t.signIn();
    t.stub.override = { json: { products: [{ id: randomUUID(), price: 'free' }] } };
    const res = await placeOrder(headers, { productId: t.stub.add().id });
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe('bad_gateway');
  });

  test('when the product service is slower than PRODUCT_TIMEOUT_MS (200 ms here), then 504 after about 200 ms and no order is stored', async () => {
    const { headers } = await t.signIn();
    const app = await t.startApp({ timeoutMs: 200 });
    t.stub.delayMs = 3_000;
    const started = performance.now();
    const res = await placeOrder(headers, { productId: t.stub.add().id }, app);
    const elapsed = performance.now() - started;
    expect(res.statusCode).toBe(504);
    expect(res.json().error).toEqual({ code: 'gateway_timeout', message: 'product service timed out' });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(700);
    expect(await orderIdsOf(headers)).toEqual([]);
  });
});

describe('POST /orders: validation', () => {
  const id = () => randomUUID();
  const cases: [string, () => unknown, RegExp][] = [
    ['both forms at once', () => ({ productId: id(), items: [{ productId: id(), quantity: 1 }] }), /unknown field "productId"/],
    ['neither form', () => ({}), /productId is required/],
    ['quantity beside items', () => ({ items: [{ productId: id(), quantity: 1 }], quantity: 2 }), /unknown field "quantity"/],
    ['0 items', () => ({ items: [] }), /items must NOT have fewer than 1 items/],
    [
      '51 items',
      () => ({ items: Array.from({ length: 51 }, () => ({ productId: id(), quantity: 1 })) }),
      /items must NOT have more than 50 items/,
    ],
    ['quantity 0', () => ({ productId: id(), quantity: 0 }), /quantity must be >= 1/],
    ['quantity 1001', () => ({ productId: id(), quantity: 1001 }), /quantity must be <= 1000/],
    ['quantity 1.5', () => ({ productId: id(), quantity: 1.5 }), /quantity must be integer/],
    ['quantity "2"', () => ({ productId: id(), quantity: '2' }), /quantity must be integer/],
    ['item quantity 0', () => ({ items: [{ productId: id(), quantity: 0 }] }), /items\.0\.quantity must be >= 1/],
    ['item quantity 1001', () => ({ items: [{ productId: id(), quantity: 1001 }] }), /items\.0\.quantity must be <= 1000/],
    ['item quantity 1.5', () => ({ items: [{ productId: id(), quantity: 1.5 }] }), /items\.0\.quantity must be integer/],
    ['item quantity "2"', () => ({ items: [{ productId: id(), quantity: '2' }] }), /items\.0\.quantity must be integer/],
    ['item without quantity', () => ({ items: [{ productId: id() }] }), /items\.0\.quantity is required/],
    ['unknown field', () => ({ productId: id(), price: 0.01 }), /unknown field "price"/],
    ['unknown field in an item', () => ({ items: [{ productId: id(), quantity: 1, price: 0.01 }] }), /unknown field "items\.0\.price"/],
    ['malformed productId', () => ({ productId: 'not-a-uuid' }), /productId must match format "uuid"/],
    ['urn:uuid productId', () => ({ productId: `urn:uuid:${id()}` }), /productId must NOT have more than 36 characters/],
    ['malformed userId', () => ({ productId: id(), userId: 'me' }), /userId must match format "uuid"/],
    ['an array body', () => [{ productId: id() }], /must be object/],
  ];

  test.each(cases)('when the body has %s, then 400 validation_error, no product lookup, no order', async (_name, body, message) => {
    const { headers } = await t.signIn();
    const before = t.stub.requests.length;
    const res = await placeOrder(headers, body());
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
    expect(res.json().error.message).toMatch(message);
    expect(t.stub.requests.length).toBe(before);
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when a productId appears on two lines, then 400 naming the repeat, no product lookup, no order', async () => {
    const { headers } = await t.signIn();
    const mug = t.stub.add();
    const before = t.stub.requests.length;
    const res = await placeOrder(headers, {
      items: [
        { productId: mug.id, quantity: 1 },
        { productId: mug.id.toUpperCase(), quantity: 2 },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', details: [{ path: 'items.1.productId', productId: mug.id }] });
    expect(t.stub.requests.length).toBe(before);
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when the body is not JSON, then 400', async () => {
    const { headers } = await t.signIn();
    const res = await t.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"productId":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('POST /orders: who the order is for', () => {
  test("when a user names someone else's userId, then 403 and no product lookup", async () => {
    const { headers } = await t.signIn();
    const before = t.stub.requests.length;
    const res = await placeOrder(headers, { productId: t.stub.add().id, userId: randomUUID() });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden');
    expect(t.stub.requests.length).toBe(before);
    expect(await orderIdsOf(headers)).toEqual([]);
  });

  test('when a user names their own userId, then 201', async () => {
    const { caller, headers } = await t.signIn();
    const res = await placeOrder(headers, { productId: t.stub.add().id, userId: caller.id });
    expect(res.statusCode).toBe(201);
    expect(res.json().order.userId).toBe(caller.id);
  });

  test("when an admin names a user's id, then the order belongs to that user, who sees it", async () => {
    const admin = await t.signIn('admin');
    const customer = await t.signIn();
    const res = await placeOrder(admin.headers, { items: [{ productId: t.stub.add().id, quantity: 2 }], userId: customer.caller.id });
    expect(res.statusCode).toBe(201);
    expect(res.json().order.userId).toBe(customer.caller.id);
    expect(await orderIdsOf(customer.headers)).toEqual([res.json().order.id]);
  });

  test('when there is no token, then 401 before anything else', async () => {
    const before = t.stub.requests.length;
    const res = await t.app.inject({ method: 'POST', url: '/orders', payload: { productId: t.stub.add().id } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
    expect(t.stub.requests.length).toBe(before);
  });

  test('when the token is signed by someone else, then 401', async () => {
    const stranger = await (await createTestIssuer()).signIn();
    const res = await placeOrder(stranger.headers, { productId: t.stub.add().id });
    expect(res.statusCode).toBe(401);
  });
});

describe('storing an order', () => {
  test('when a line cannot be stored, then the order row is not stored either (one atomic statement)', async () => {
    const userId = randomUUID();
    const badLine = { productId: randomUUID(), name: 'x', unitPriceCents: 100, quantity: 0, lineTotalCents: 0 };
    await expect(insertOrder(t.pool, { userId, status: 'confirmed', totalCents: 0, lines: [badLine] })).rejects.toThrow(
      /order_items_quantity_check/,
    );
    const { rows } = await t.pool.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE user_id = $1', [userId]);
    expect(rows[0]!.n).toBe(0);
  });
});
