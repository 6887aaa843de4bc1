import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createProductClient, type ProductClient } from '../clients/product-client.js';
import { setUpOrderService, startProductStub, type OrderTestContext, type ProductStub } from './support.js';

// The product client between the order service and a product service that misbehaves: resets,
// 503s, latency and a black hole, with retries, a deadline and a circuit breaker.
let stub: ProductStub;
const clients: ProductClient[] = [];

beforeAll(async () => {
  stub = await startProductStub();
});
afterEach(() => stub.reset());
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await stub.close();
});

function newClient(options: { timeoutMs?: number; breakerResetMs?: number } = {}) {
  const client = createProductClient({ baseUrl: stub.url, ...options });
  clients.push(client);
  return client;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error as { status: number; code: string; message: string; headers: Record<string, string> },
  );

describe('product client resilience', () => {
  test('when one connection is reset, then a retry gets the answer', async () => {
    const product = stub.add();
    const client = newClient();
    stub.resetNext = 1;
    const before = stub.requests.length;
    expect((await client.findProducts([product.id])).has(product.id)).toBe(true);
    expect(stub.requests.length - before).toBe(2);
  });

  test('when two connections in a row are reset, then the third try (after jittered pauses) gets the answer', async () => {
    const product = stub.add();
    const client = newClient();
    stub.resetNext = 2;
    expect((await client.findProducts([product.id])).has(product.id)).toBe(true);
  });

  test('when it keeps failing, then at most three tries, and the error is 503', async () => {
    const client = newClient();
    stub.failStatus = 503;
    const before = stub.requests.length;
    expect(await failure(client.findProducts([stub.add().id]))).toMatchObject({ status: 503 });
    expect(stub.requests.length - before).toBe(3);
  });

  test('when it is a black hole, then the whole lookup (retries included) ends at the deadline with 504', async () => {
    const client = newClient({ timeoutMs: 300 });
    stub.delayMs = 60_000;
    const started = Date.now();
    expect(await failure(client.findProducts([stub.add().id]))).toMatchObject({ status: 504, code: 'gateway_timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test('when failures pile up, then the breaker opens: 503 with Retry-After at once, without calling; it closes by itself once the service is back', async () => {
    const client = newClient({ breakerResetMs: 300 });
    const product = stub.add();
    stub.failStatus = 503;
    for (let i = 0; i < 5; i++) await failure(client.findProducts([product.id]));

    const before = stub.requests.length;
    const started = performance.now();
    const open = await failure(client.findProducts([product.id]));
    const elapsed = performance.now() - started;
    expect(open).toMatchObject({ status: 503, code: 'service_unavailable', message: expect.stringContaining('circuit open') });
    expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(stub.requests.length).toBe(before);
    expect(elapsed).toBeLessThan(50);

    stub.reset();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await client.findProducts([product.id])).has(product.id)).toBe(true);
    expect((await client.findProducts([product.id])).has(product.id)).toBe(true);
  });
});

describe('POST /orders while the breaker is open', () => {
  let t: OrderTestContext;
  beforeAll(async () => {
    t = await setUpOrderService();
  });
  afterAll(async () => t?.close());

  test('then 503 in the envelope with Retry-After, and no order', async () => {
    const { caller, headers } = await t.signIn();
    const product = t.stub.add();
    t.stub.failStatus = 503;
    for (let i = 0; i < 5; i++) await t.app.inject({ method: 'POST', url: '/orders', headers, payload: { productId: product.id } });
    const res = await t.app.inject({ method: 'POST', url: '/orders', headers, payload: { productId: product.id } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.json().error).toMatchObject({ code: 'service_unavailable' });
    const { rows } = await t.pool.query('SELECT count(*)::int AS n FROM orders WHERE user_id = $1', [caller.id]);
    expect(rows[0].n).toBe(0);
  });
});
