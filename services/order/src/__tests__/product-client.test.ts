import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { freePort } from '@mini/shared/testing';
import { createProductClient, type ProductClient } from '../clients/product-client.js';
import { startProductStub, type ProductStub } from './support.js';

let stub: ProductStub;
let client: ProductClient;
const closeAfter: ProductClient[] = [];

// A client per test: a breaker opened by one test's failures must not answer for the next.
beforeAll(async () => {
  stub = await startProductStub();
});
beforeEach(() => {
  client = clientFor(stub.url);
});
afterEach(() => stub.reset());
afterAll(async () => {
  await Promise.all(closeAfter.map((c) => c.close()));
  await stub.close();
});

function clientFor(baseUrl: string, timeoutMs = 2_000) {
  const c = createProductClient({ baseUrl, timeoutMs });
  closeAfter.push(c);
  return c;
}

async function rejectionOf(promise: Promise<unknown>) {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error as { status: number; code: string; message: string },
  );
}

describe('product client', () => {
  test('findProducts: when asked for several ids, then ONE request names them all and the found ones come back in cents', async () => {
    const mug = stub.add({ name: 'Mug', price: 19.99, stock: 3 });
    const sticker = stub.add({ name: 'Sticker', price: 0.1, stock: 0 });
    const unknown = randomUUID();
    const before = stub.requests.length;
    const found = await client.findProducts([mug.id, sticker.id, unknown]);
    expect(stub.requests.length - before).toBe(1);
    const url = stub.requests.at(-1)!;
    expect(url.searchParams.get('ids')!.split(',').sort()).toEqual([mug.id, sticker.id, unknown].sort());
    expect(url.searchParams.get('limit')).toBe('100');
    expect(found).toEqual(
      new Map([
        [mug.id, { id: mug.id, name: 'Mug', priceCents: 1999, stock: 3 }],
        [sticker.id, { id: sticker.id, name: 'Sticker', priceCents: 10, stock: 0 }],
      ]),
    );
  });

  test('findProducts: when given upper-case or repeated ids, then it asks once per product and keys by lower case', async () => {
    const mug = stub.add();
    const before = stub.requests.length;
    const found = await client.findProducts([mug.id.toUpperCase(), mug.id]);
    expect(stub.requests.length - before).toBe(1);
    expect(stub.requests.at(-1)!.searchParams.get('ids')).toBe(mug.id);
    expect([...found.keys()]).toEqual([mug.id]);
  });

  test('findProducts: when given no ids, then no request is made', async () => {
    const before = stub.requests.length;
    expect((await client.findProducts([])).size).toBe(0);
    expect(stub.requests.length).toBe(before);
  });

  test('when the product service answers 5xx, then 503 service_unavailable', async () => {
    stub.failStatus = 500;
    const error = await rejectionOf(client.findProducts([randomUUID()]));
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable', message: 'product service is unavailable' });
  });

  test('when the product service answers an unexpected 4xx, then 502 bad_gateway', async () => {
    stub.failStatus = 400;
    expect(await rejectionOf(client.findProducts([randomUUID()]))).toMatchObject({ status: 502, code: 'bad_gateway' });
  });

  test.each([
    ['not JSON', { text: '<html>oops' }],
    ['no products array', { json: { items: [] } }],
    ['a string price', { json: { products: [{ id: randomUUID(), name: 'x', price: '1.00', stock: 1 }] } }],
    ['a price with 3 decimals', { json: { products: [{ id: randomUUID(), name: 'x', price: 1.234, stock: 1 }] } }],
    ['a negative price', { json: { products: [{ id: randomUUID(), name: 'x', price: -1, stock: 1 }] } }],
    ['a fractional stock', { json: { products: [{ id: randomUUID(), name: 'x', price: 1, stock: 1.5 }] } }],
    ['no id', { json: { products: [{ name: 'x', price: 1, stock: 1 }] } }],
    ['null', { json: null }],
  ])('when the answer has %s, then 502 bad_gateway', async (_case, override) => {
    stub.override = override;
    expect(await rejectionOf(client.findProducts([randomUUID()]))).toMatchObject({ status: 502, code: 'bad_gateway' });
  });

  test('when nothing listens on the port, then 503 fast', async () => {
    const down = clientFor(`http://127.0.0.1:${await freePort()}`);
    const started = performance.now();
    const error = await rejectionOf(down.findProducts([randomUUID()]));
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable', message: 'product service is unavailable' });
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('when the product service is slower than the timeout, then 504 after about the timeout', async () => {
    const impatient = clientFor(stub.url, 200);
    stub.delayMs = 2_000;
    const started = performance.now();
    const error = await rejectionOf(impatient.findProducts([randomUUID()]));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ status: 504, code: 'gateway_timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(600);
  });
});
