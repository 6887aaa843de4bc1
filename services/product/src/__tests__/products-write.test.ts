import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { startProductApp, uniqueToken, type TestIssuer } from './helpers.js';

let app: App;
let pool: Pool;
let issuer: TestIssuer;
let close: () => Promise<void>;
let admin: Record<string, string>;

beforeAll(async () => {
  ({ app, pool, issuer, close } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
});
afterAll(async () => close());

function validProduct(overrides: Record<string, unknown> = {}) {
  return { name: `Mug ${uniqueToken()}`, description: 'Stoneware, 300 ml', price: 12.5, stock: 3, ...overrides };
}

async function createProduct(overrides: Record<string, unknown> = {}) {
  const res = await app.inject({ method: 'POST', url: '/products', headers: admin, payload: validProduct(overrides) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().product;
}

async function storedRow(id: string) {
  const { rows } = await pool.query('SELECT name, description, price_cents, stock FROM products WHERE id = $1', [id]);
  return rows[0];
}

async function storedCount(name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*) AS n FROM products WHERE name = $1', [name]);
  return rows[0]?.n ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('POST /products', () => {
  test('when an admin creates a product, then 201 with the product, its Location, and it can be read back', async () => {
    const name = `Espresso cup ${uniqueToken()}`;
    const res = await app.inject({
      method: 'POST',
      url: '/products',
      headers: admin,
      payload: { name, description: 'Stoneware, 80 ml', price: 19.99, stock: 12 },
    });
    expect(res.statusCode).toBe(201);
    const { product } = res.json();
    expect(product).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name,
      description: 'Stoneware, 80 ml',
      price: 19.99,
      stock: 12,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: product.createdAt,
    });
    expect(res.headers.location).toBe(`/products/${product.id}`);
    expect(await storedRow(product.id)).toEqual({ name, description: 'Stoneware, 80 ml', price_cents: 1999, stock: 12 });
    const read = await app.inject({ method: 'GET', url: `/products/${product.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ product });
  });

  test('when stock is left out, then it is 0; when the name has blanks around it, then they are trimmed', async () => {
    const token = uniqueToken();
    const res = await app.inject({
      method: 'POST',
      url: '/products',
      headers: admin,
      payload: { name: `  Plate ${token}\t`, description: '', price: 3 },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().product).toMatchObject({ name: `Plate ${token}`, description: '', price: 3, stock: 0 });
  });

  test.each([
    [' 19.999 ', 20, 2000],
    ['1.005', 1.01, 101],
    ['0.125', 0.13, 13],
    ['2.675', 2.68, 268],
    ['7', 7, 700],
    [19.999, 20, 2000],
    [1.005, 1.01, 101],
    [2.675, 2.68, 268],
    [1e-7, 0, 0],
    [1000000, 1000000, 100000000],
  ])('when the price is %j, then it is stored as %s (%i cents)', async (price, shown, cents) => {
    const product = await createProduct({ price });
    expect(product.price).toBe(shown);
    expect((await storedRow(product.id)).price_cents).toBe(cents);
  });

  test('when every field is at its upper bound, then the product is created', async () => {
    const name = uniqueToken().padEnd(200, 'n');
    const product = await createProduct({ name, description: 'd'.repeat(2000), price: '1000000.00', stock: 1_000_000 });
    expect(product).toMatchObject({ name, price: 1_000_000, stock: 1_000_000 });
    expect(product.description).toHaveLength(2000);
  });

  test('when a field the contract does not know is sent, then 400 naming it and nothing is stored', async () => {
    const payload = validProduct({ id: randomUUID() });
    const res = await app.inject({ method: 'POST', url: '/products', headers: admin, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', message: 'unknown field "id"' });
    expect(await storedCount(payload.name)).toBe(0);
  });

  test.each([
    ['name', { name: '' }],
    ['name', { name: '   ' }],
    ['name', { name: 'n'.repeat(201) }],
    ['name', { name: 5 }],
    ['name', { name: null }],
    ['name', { name: undefined }],
    ['description', { description: 'd'.repeat(2001) }],
    ['description', { description: 5 }],
    ['description', { description: undefined }],
    ['price', { price: -1 }],
    ['price', { price: -0.01 }],
    ['price', { price: '-1' }],
    ['price', { price: 1_000_000.01 }],
    ['price', { price: '1000000.005' }],
    ['price', { price: 'abc' }],
    ['price', { price: '' }],
    ['price', { price: '1e3' }],
    ['price', { price: '0x10' }],
    ['price', { price: 'NaN' }],
    ['price', { price: 'Infinity' }],
    ['price', { price: true }],
    ['price', { price: null }],
    ['price', { price: { amount: 5 } }],
    ['price', { price: [5] }],
    ['price', { price: undefined }],
    ['stock', { stock: -1 }],
    ['stock', { stock: 1.5 }],
    ['stock', { stock: 1_000_001 }],
    ['stock', { stock: '5' }],
    ['stock', { stock: null }],
  ])('when %s is invalid (%j), then 400 validation_error naming it and nothing is stored', async (field, overrides) => {
    const payload = validProduct(overrides);
    const res = await app.inject({ method: 'POST', url: '/products', headers: admin, payload });
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('validation_error');
    expect(error.message).toContain(field);
    expect(error.details[0].path).toBe(field);
    if (typeof payload.name === 'string') expect(await storedCount(payload.name)).toBe(0);
  });

  test('when the body is not JSON, then 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/products',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('PATCH /products/:id', () => {
  test('when an admin changes the price, then only the price changes, updatedAt moves on and createdAt stays', async () => {
    const before = await createProduct({ price: 10, stock: 4 });
    await sleep(5);
    const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { price: '24.999' } });
    expect(res.statusCode).toBe(200);
    const { product } = res.json();
    expect(product).toEqual({ ...before, price: 25, updatedAt: expect.any(String) });
    expect(product.createdAt).toBe(before.createdAt);
    expect(Date.parse(product.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    expect((await app.inject({ method: 'GET', url: `/products/${before.id}` })).json()).toEqual({ product });
  });

  test('when an admin changes every field at once, then all are stored (name trimmed)', async () => {
    const before = await createProduct();
    const name = `Renamed ${uniqueToken()}`;
    const res = await app.inject({
      method: 'PATCH',
      url: `/products/${before.id}`,
      headers: admin,
      payload: { name: ` ${name} `, description: 'new text', price: 0, stock: 0, expectedStock: 3 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().product).toMatchObject({ id: before.id, name, description: 'new text', price: 0, stock: 0 });
    expect(await storedRow(before.id)).toEqual({ name, description: 'new text', price_cents: 0, stock: 0 });
  });

  test.each([{ name: `Other ${uniqueToken()}` }, { description: '' }, { stock: 99, expectedStock: 3 }, { price: 1.005 }])(
    'when an admin sends only %j, then the other fields keep their values',
    async (change) => {
      const before = await createProduct();
      const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: change });
      expect(res.statusCode).toBe(200);
      const { expectedStock: _read, ...shown } = change as Record<string, unknown>;
      const expected = { ...before, ...shown, ...('price' in change ? { price: 1.01 } : {}), updatedAt: expect.any(String) };
      expect(res.json().product).toEqual(expected);
    },
  );

  test.each([
    ['an empty object', {}],
    ['no body', undefined],
  ])('when the body is %s, then 400 and nothing changes', async (_label, payload) => {
    const before = await createProduct();
    const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
    expect((await app.inject({ method: 'GET', url: `/products/${before.id}` })).json().product).toEqual(before);
  });

  test.each([
    ['name', { name: '  ' }],
    ['name', { name: 'n'.repeat(201) }],
    ['description', { description: 'd'.repeat(2001) }],
    ['price', { price: -5 }],
    ['price', { price: '12abc' }],
    ['price', { price: null }],
    ['stock', { stock: -1 }],
    ['stock', { stock: 2.5 }],
  ])('when %s is invalid (%j), then 400 naming it and nothing changes', async (field, payload) => {
    const before = await createProduct();
    const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { ...payload } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe(field);
    expect(res.json().error.message).toContain(field);
    expect((await app.inject({ method: 'GET', url: `/products/${before.id}` })).json().product).toEqual(before);
  });

  test('when a field the contract does not know is sent, then 400 naming it and nothing changes', async () => {
    const before = await createProduct();
    const res = await app.inject({
      method: 'PATCH',
      url: `/products/${before.id}`,
      headers: admin,
      payload: { price: 1, createdAt: '2000-01-01T00:00:00Z' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('unknown field "createdAt"');
    expect((await app.inject({ method: 'GET', url: `/products/${before.id}` })).json().product).toEqual(before);
  });

  test('when the product does not exist, then 404', async () => {
    const res = await app.inject({ method: 'PATCH', url: `/products/${randomUUID()}`, headers: admin, payload: { stockDelta: 1 } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toEqual({ code: 'not_found', message: 'product not found' });
  });

  test('when a stockDelta would take the stock past the largest PostgreSQL integer, then 409 (not a 500), and nothing changes', async () => {
    const before = await createProduct();
    // Over 2000 deltas of the largest size would get there; the test puts it there directly.
    const top = 2_147_483_647 - 10;
    await pool.query('UPDATE products SET stock = $2 WHERE id = $1', [before.id, top]);
    const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { stockDelta: 11 } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toBe(`stock is ${top}: adding 11 would take it over 2147483647`);
    expect((await storedRow(before.id)).stock).toBe(top);
  });

  test('when stock is sent without expectedStock, then 400 saying what to send, and nothing changes', async () => {
    const before = await createProduct();
    const res = await app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { stock: 10 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/expectedStock.*stockDelta/);
    expect((await storedRow(before.id)).stock).toBe(3);
  });

  test('when expectedStock is no longer the stock, then 409 with the current stock, and nothing changes', async () => {
    const before = await createProduct();
    const res = await app.inject({
      method: 'PATCH',
      url: `/products/${before.id}`,
      headers: admin,
      payload: { stock: 10, expectedStock: 2, name: 'not applied either' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'conflict', details: [{ path: 'stock', stock: 3 }] });
    expect(await storedRow(before.id)).toMatchObject({ name: before.name, stock: 3 });
  });

  test('when stockDelta is given, then it adds or takes relative to the stock now; below 0 is a 409', async () => {
    const before = await createProduct();
    const patch = (stockDelta: number) =>
      app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { stockDelta } });
    expect((await patch(5)).json().product.stock).toBe(8);
    expect((await patch(-8)).json().product.stock).toBe(0);
    const tooMuch = await patch(-1);
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json().error.details[0].stock).toBe(0);
    expect((await storedRow(before.id)).stock).toBe(0);
  });

  test('when 40 deltas race, then none is lost: the stock ends at the sum', async () => {
    const before = await createProduct({ stock: 100 });
    const deltas = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 3 : -2));
    const answers = await Promise.all(
      deltas.map((stockDelta) => app.inject({ method: 'PATCH', url: `/products/${before.id}`, headers: admin, payload: { stockDelta } })),
    );
    expect(answers.map((answer) => answer.statusCode)).toEqual(deltas.map(() => 200));
    expect((await storedRow(before.id)).stock).toBe(100 + deltas.reduce((sum, delta) => sum + delta, 0));
  });

  test('when stock and stockDelta come together, then 400', async () => {
    const before = await createProduct();
    const res = await app.inject({
      method: 'PATCH',
      url: `/products/${before.id}`,
      headers: admin,
      payload: { stock: 1, expectedStock: 3, stockDelta: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect((await storedRow(before.id)).stock).toBe(3);
  });

  test('when the id is malformed, then 400', async () => {
    const res = await app.inject({ method: 'PATCH', url: '/products/not-a-uuid', headers: admin, payload: { stock: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('DELETE /products/:id', () => {
  test('when an admin deletes a product, then 204 with no body, and afterwards GET and DELETE answer 404', async () => {
    const product = await createProduct();
    const res = await app.inject({ method: 'DELETE', url: `/products/${product.id}`, headers: admin });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode).toBe(404);
    const again = await app.inject({ method: 'DELETE', url: `/products/${product.id}`, headers: admin });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('not_found');
  });

  test('when the id is malformed, then 400', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/products/123', headers: admin });
    expect(res.statusCode).toBe(400);
  });
});
