import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { startProductApp, uniqueToken } from './helpers.js';

let app: App;
let pool: Pool;
let close: () => Promise<void>;
let admin: Record<string, string>;

beforeAll(async () => {
  let issuer;
  ({ app, pool, issuer, close } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
});
afterAll(async () => close());

async function createProduct(name: string, price: number | string = 1) {
  const res = await app.inject({
    method: 'POST',
    url: '/products',
    headers: admin,
    payload: { name, description: `about ${name}`, price },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().product;
}

async function list(query: string) {
  return app.inject({ method: 'GET', url: `/products?${query}` });
}

const names = (res: { json: () => { products: { name: string }[] } }) => res.json().products.map((p) => p.name);

describe('caching of catalog reads', () => {
  test('a read without a token may be shared for 1 s; with a token, or an error, it may not be kept at all', async () => {
    const product = await createProduct(`Vase ${uniqueToken()}`);
    for (const url of [`/products/${product.id}`, '/products?limit=2']) {
      const anonymous = await app.inject({ method: 'GET', url });
      expect(anonymous.headers['cache-control'], url).toBe('public, max-age=1');
      const signedIn = await app.inject({ method: 'GET', url, headers: admin });
      expect(signedIn.headers['cache-control'], url).toBe('no-store');
    }
    for (const url of [`/products/${randomUUID()}`, '/products?limit=0']) {
      const failed = await app.inject({ method: 'GET', url });
      expect(failed.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(failed.headers['cache-control'], url).toBeUndefined();
    }
  });
});

describe('GET /products/:id', () => {
  test('when the product exists, then 200 with it, without a token', async () => {
    const product = await createProduct(`Bowl ${uniqueToken()}`, '4.50');
    const res = await app.inject({ method: 'GET', url: `/products/${product.id}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ product: { ...product, price: 4.5 } });
  });

  test('when the id is upper-case, then it still finds the product', async () => {
    const product = await createProduct(`Jug ${uniqueToken()}`);
    const res = await app.inject({ method: 'GET', url: `/products/${product.id.toUpperCase()}` });
    expect(res.statusCode).toBe(200);
    expect(res.json().product.id).toBe(product.id);
  });

  test('when the id is in urn form, then 400 validation_error (ids are plain UUIDs)', async () => {
    const product = await createProduct(`Jug ${uniqueToken()}`);
    const res = await app.inject({ method: 'GET', url: `/products/urn:uuid:${product.id}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('when no product has the id, then 404 not_found', async () => {
    const res = await app.inject({ method: 'GET', url: `/products/${randomUUID()}` });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'product not found' } });
  });

  test.each(['not-a-uuid', '123', `${randomUUID()}x`])('when the id %j is malformed, then 400 validation_error naming id', async (id) => {
    const res = await app.inject({ method: 'GET', url: `/products/${id}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', details: [expect.objectContaining({ path: 'id' })] });
  });
});

describe('GET /products: paging, order and search', () => {
  test('when there are more matches than the limit, then pages follow the creation order and total counts them all', async () => {
    const token = uniqueToken();
    const created = [];
    for (const n of [1, 2, 3, 4, 5]) created.push(await createProduct(`Plate ${n} ${token}`));
    const all = created.map((p) => p.name);

    const first = await list(`q=${token}&limit=2`);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(names(first)).toEqual(all.slice(0, 2));
    expect(names(await list(`q=${token}&limit=2&offset=2`))).toEqual(all.slice(2, 4));
    expect(names(await list(`q=${token}&limit=2&offset=4`))).toEqual(all.slice(4));
    expect(first.json().products[0]).toEqual(created[0]);

    const past = await list(`q=${token}&limit=2&offset=10`);
    expect(past.json()).toEqual({ products: [], total: 5, limit: 2, offset: 10 });
  });

  test('when products share a creation time, then the id breaks the tie, the same on every call', async () => {
    const token = uniqueToken();
    // One statement: now() is the same for every row.
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO products (name, description, price_cents) SELECT 'Twin ' || n || ' ${token}', '', 100 FROM generate_series(1, 6) AS n RETURNING id`,
    );
    const byId = rows.map((r) => r.id).sort();
    for (const limit of [6, 3]) {
      const pages = [await list(`q=${token}&limit=${limit}`), await list(`q=${token}&limit=${limit}&offset=${limit}`)];
      expect(pages.flatMap((page) => page.json().products.map((p: { id: string }) => p.id))).toEqual(byId);
    }
  });

  test('when no limit or offset is given, then limit 20 and offset 0: 20 of 21 matches, from the first', async () => {
    const token = uniqueToken();
    const created = [];
    for (let i = 0; i < 21; i++) created.push(await createProduct(`Spoon ${token} ${String(i).padStart(2, '0')}`));
    const res = await list(`q=${token}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ limit: 20, offset: 0, total: 21 });
    expect(res.json().products.map((p: { id: string }) => p.id)).toEqual(created.slice(0, 20).map((p) => p.id));
  });

  test('when q holds a NUL character, then 400 validation_error (it would otherwise reach PostgreSQL and 500)', async () => {
    const res = await list('q=lamp%00');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', message: 'q must not contain a NUL character or an unpaired surrogate' });
  });

  test('when nothing matches, then an empty page with total 0', async () => {
    expect((await list(`q=${uniqueToken()}`)).json()).toEqual({ products: [], total: 0, limit: 20, offset: 0 });
  });

  test('when q differs from the name in case, then it still matches as a substring', async () => {
    const token = uniqueToken();
    const product = await createProduct(`Big Blue MUG ${token} deluxe`);
    await createProduct(`Big Red cup ${token}`);
    for (const q of [`blue mug ${token}`, `BLUE MUG ${token.toUpperCase()}`, `bLuE mUg ${token} DeLuXe`]) {
      const res = await list(`q=${encodeURIComponent(q)}`);
      expect(res.json(), q).toMatchObject({ total: 1, products: [{ id: product.id }] });
    }
    expect((await list(`q=${token}`)).json().total).toBe(2);
  });

  test.each([
    ['%', '100% cotton', '100x cotton'],
    ['_', 'a_b', 'axb'],
    ['\\', 'back\\slash', 'backslash'],
  ])('when q holds the LIKE wildcard %j, then it matches only itself', async (_char, literal, lookalike) => {
    const token = uniqueToken();
    const wanted = await createProduct(`${token} ${literal}`);
    await createProduct(`${token} ${lookalike}`);
    const res = await list(`q=${encodeURIComponent(`${token} ${literal}`)}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 1, products: [{ id: wanted.id }] });
  });

  test('when q is exactly 100 characters, then it is accepted', async () => {
    const res = await list(`q=${'q'.repeat(100)}`);
    expect(res.statusCode).toBe(200);
  });

  test.each([
    'limit=0',
    'limit=101',
    'limit=abc',
    'limit=1.5',
    'limit=-1',
    'offset=-1',
    'offset=abc',
    'offset=0.5',
    'q=',
    `q=${'q'.repeat(101)}`,
    'ids=',
    'sort=name',
    'price=1',
  ])('when the query has %j, then 400 validation_error', async (query) => {
    const res = await list(query);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });
});

describe('GET /products?ids=', () => {
  test('when some of the ids exist, then exactly those come back, in the list order, whatever the id case', async () => {
    const token = uniqueToken();
    const a = await createProduct(`A ${token}`, 2);
    await createProduct(`B ${token}`, 3);
    const c = await createProduct(`C ${token}`, '4.25');
    const res = await list(`ids=${[c.id.toUpperCase(), randomUUID(), a.id, a.id].join(',')}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ products: [a, c], total: 2, limit: 100, offset: 0 });
  });

  test('when none of the ids exist, then an empty list', async () => {
    expect((await list(`ids=${randomUUID()},${randomUUID()}`)).json()).toEqual({ products: [], total: 0, limit: 100, offset: 0 });
  });

  test('when more than 20 ids are asked without a limit, then all come back in one answer; an explicit limit still pages', async () => {
    const token = uniqueToken();
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO products (name, description, price_cents) SELECT 'Many ' || n || ' ${token}', '', n FROM generate_series(1, 30) AS n RETURNING id`,
    );
    const ids = rows.map((r) => r.id);
    const all = await list(`ids=${ids.join(',')}`);
    expect(all.json()).toMatchObject({ total: 30, limit: 100, offset: 0 });
    expect(all.json().products).toHaveLength(30);
    const page = await list(`ids=${ids.join(',')}&limit=5&offset=5`);
    expect(page.json()).toMatchObject({ total: 30, limit: 5, offset: 5 });
    expect(page.json().products.map((p: { id: string }) => p.id)).toEqual([...ids].sort().slice(5, 10));
  });

  test('when ids and q are both given, then a product must match both', async () => {
    const token = uniqueToken();
    const cup = await createProduct(`Cup ${token}`);
    const jar = await createProduct(`Jar ${token}`);
    const res = await list(`ids=${cup.id},${jar.id}&q=jar`);
    expect(res.json()).toMatchObject({ total: 1, products: [{ id: jar.id }] });
  });

  test('when exactly 100 ids are given, then 200', async () => {
    const ids = Array.from({ length: 100 }, () => randomUUID());
    const res = await list(`ids=${ids.join(',')}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 0, limit: 100 });
  });

  test('when more than 100 ids are given, then 400 naming ids', async () => {
    const ids = Array.from({ length: 101 }, () => randomUUID());
    const res = await list(`ids=${ids.join(',')}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'validation_error',
      message: 'ids must list at most 100 ids (got 101)',
      details: [{ path: 'ids' }],
    });
  });

  test.each([`${randomUUID()},nope`, 'nope', `${randomUUID()},,${randomUUID()}`, `${randomUUID()},`, `'; DROP TABLE products; --`])(
    'when ids is %j, then 400 validation_error naming ids',
    async (ids) => {
      const res = await list(`ids=${encodeURIComponent(ids)}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'validation_error', details: [{ path: 'ids' }] });
      expect(res.json().error.message).toMatch(/^ids must be comma-separated UUIDs/);
    },
  );
});

describe('documents and probes', () => {
  test('GET /openapi.json: documents every product route under the products tag, with security on admin routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).sort()).toEqual(['/products', '/products/{id}']);
    const operations = [
      doc.paths['/products'].get,
      doc.paths['/products'].post,
      ...['get', 'patch', 'delete'].map((m) => doc.paths['/products/{id}'][m]),
    ];
    for (const operation of operations) {
      expect(operation.tags).toEqual(['products']);
      expect(operation.summary).toEqual(expect.any(String));
      expect(Object.keys(operation.responses)).toContain('400');
    }
    for (const operation of [doc.paths['/products'].post, doc.paths['/products/{id}'].patch, doc.paths['/products/{id}'].delete]) {
      expect(operation.security).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
    const idsParameter = doc.paths['/products'].get.parameters.find((p: { name: string }) => p.name === 'ids');
    expect(idsParameter.description).toContain('comma-separated UUIDs');
  });

  test('GET /readyz: when the database answers, then 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ service: 'product-service', checks: { database: 'ok' } });
  });
});
