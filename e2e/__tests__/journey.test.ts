import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client, eventually, settled, startE2EStack, type E2EStack } from '../stack-fixture.js';

let stack: E2EStack;
const api = client(() => stack.gatewayUrl);
const unique = () => randomUUID().slice(0, 8);

beforeAll(async () => {
  stack = await startE2EStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function register(prefix = 'shopper') {
  const username = `${prefix}_${unique()}`;
  const password = 'correct horse battery';
  const res = await api.post('/users/register', { username, password });
  expect(res.status, res.text).toBe(201);
  return { username, password, id: res.body.user.id as string, token: res.body.token as string };
}

async function adminToken() {
  const res = await api.post('/users/login', stack.admin);
  expect(res.status, res.text).toBe(200);
  expect(res.body.user.role).toBe('admin');
  return res.body.token as string;
}

async function createProduct(token: string, fields: Record<string, unknown> = {}) {
  const res = await api.post(
    '/products',
    { name: `Journey Lamp ${unique()}`, description: 'A lamp for the journey', price: 19.99, stock: 10, ...fields },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  return res.body.product as { id: string; name: string; price: number; stock: number };
}

describe('a shopper journey through the gateway', () => {
  test('health and readiness: the gateway is alive and its upstreams are ready', async () => {
    const health = await api.get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok' });
    expect((await api.get('/readyz')).status).toBe(200);
  });

  test('register, log in, read my profile, then order, list, read and cancel', async () => {
    const admin = await adminToken();
    const lamp = await createProduct(admin, { price: '19.999' });
    expect(lamp.price).toBe(20);
    const mug = await createProduct(admin, { name: `Journey Mug ${unique()}`, price: 7.5, stock: 100 });

    const alice = await register('alice');
    const login = await api.post('/users/login', { username: alice.username.toUpperCase(), password: alice.password });
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual({ id: alice.id, username: alice.username, role: 'user', createdAt: expect.any(String) });
    const token = login.body.token as string;

    const me = await api.get('/users/me', { token });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(alice.id);
    expect(me.text).not.toMatch(/password|argon2/i);

    const listed = await api.get(`/products?q=${encodeURIComponent(lamp.name.toLowerCase())}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total: 1, limit: 20, offset: 0 });
    expect(listed.body.products[0].id).toBe(lamp.id);
    expect((await api.get(`/products/${lamp.id}`)).body.product).toMatchObject({ id: lamp.id, price: 20, stock: 10 });
    // A read right after another comes from the gateway's catalog cache (it says how old: Age).
    const reread = await eventually(async () => {
      const [first, second] = [await api.get(`/products/${lamp.id}`), await api.get(`/products/${lamp.id}`)];
      expect(second.headers.get('age'), 'a second read within max-age').not.toBeNull();
      return { first, second };
    }, 5_000);
    expect(reread.second.body).toEqual(reread.first.body);

    const single = await api.post('/orders', { productId: lamp.id, quantity: 2 }, { token });
    expect(single.status, single.text).toBe(201);
    expect(single.body.order).toMatchObject({
      userId: alice.id,
      items: [{ productId: lamp.id, name: lamp.name, unitPrice: 20, quantity: 2, lineTotal: 40 }],
      total: 40,
    });

    const multi = await api.post(
      '/orders',
      {
        items: [
          { productId: lamp.id, quantity: 1 },
          { productId: mug.id, quantity: 3 },
        ],
      },
      { token },
    );
    expect(multi.status, multi.text).toBe(201);
    expect(multi.body.order.total).toBe(42.5);

    // Both start pending; the product service reserves their stock and they are confirmed.
    expect([single.body.order.status, multi.body.order.status]).toEqual(['pending', 'pending']);
    expect((await settled(api, single.body.order.id, token)).status).toBe('confirmed');
    expect((await settled(api, multi.body.order.id, token)).status).toBe('confirmed');
    // What a shopper sees of the stock the saga reserved: at once, or within the catalog's max-age
    // of 1 s when the gateway still holds the earlier read.
    await eventually(async () => expect((await api.get(`/products/${lamp.id}`)).body.product.stock).toBe(7), 1_500);

    // The catalog changes; history does not.
    expect((await api.patch(`/products/${lamp.id}`, { price: 99, name: 'Renamed Lamp' }, { token: admin })).status).toBe(200);
    const history = await api.get(`/orders/${single.body.order.id}`, { token });
    expect(history.status).toBe(200);
    expect(history.body.order.items[0]).toMatchObject({ name: lamp.name, unitPrice: 20, lineTotal: 40 });

    const mine = await api.get('/orders', { token });
    expect(mine.status).toBe(200);
    expect(mine.body.total).toBe(2);
    expect(mine.body.orders.map((o: { id: string }) => o.id)).toEqual([multi.body.order.id, single.body.order.id]);

    const cancelled = await api.post(`/orders/${single.body.order.id}/cancel`, undefined, { token });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.order.status).toBe('cancelled');
    // Its reservation is given back (once).
    await eventually(async () => expect((await api.get(`/products/${lamp.id}`)).body.product.stock).toBe(9));
    const again = await api.post(`/orders/${single.body.order.id}/cancel`, undefined, { token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
  });

  test('admin sees every order and filters by user; a shopper sees only their own', async () => {
    const admin = await adminToken();
    const product = await createProduct(admin);
    const alice = await register('alice');
    const bob = await register('bob');
    const order = await api.post('/orders', { productId: product.id }, { token: alice.token });
    expect(order.status).toBe(201);

    expect((await api.get('/orders', { token: bob.token })).body.total).toBe(0);
    const peek = await api.get(`/orders/${order.body.order.id}`, { token: bob.token });
    expect(peek.status).toBe(404);
    expect(peek.body.error.code).toBe('not_found');

    const filtered = await api.get(`/orders?userId=${alice.id}`, { token: admin });
    expect(filtered.status).toBe(200);
    expect(filtered.body.orders.map((o: { id: string }) => o.id)).toEqual([order.body.order.id]);

    const users = await api.get('/users?limit=100', { token: admin });
    expect(users.status).toBe(200);
    expect(users.body.total).toBeGreaterThanOrEqual(2);
    expect((await api.get(`/users/${alice.id}`, { token: admin })).status).toBe(200);
    expect((await api.get(`/users/${alice.id}`, { token: bob.token })).status).toBe(403);
  });
});

describe('every error of the contract, through the gateway', () => {
  test('400 validation_error: bad body, unknown field, bad query, malformed id, malformed JSON, unknown product', async () => {
    const shopper = await register();
    const cases = [
      await api.post('/users/register', { username: 'ab', password: 'long enough password' }),
      await api.post('/users/register', { username: `eve_${unique()}`, password: 'long enough password', role: 'admin' }),
      await api.get('/products?limit=0'),
      await api.get('/products?offset=-1'),
      await api.get('/products/not-a-uuid'),
      await api.call('POST', '/users/login', { body: '{"username":', headers: { 'content-type': 'application/json' } }),
      await api.post('/orders', { productId: randomUUID() }, { token: shopper.token }),
    ];
    for (const res of cases) {
      expect(res.status, res.text).toBe(400);
      expect(res.body.error.code).toBe('validation_error');
    }
    expect(cases.at(-1)!.body.error.message).toMatch(/product not found/);
    expect((await api.get(`/orders`, { token: shopper.token })).body.total).toBe(0);
  });

  test('401 unauthorized: no token, a forged token, wrong credentials (same answer for unknown user and wrong password)', async () => {
    const shopper = await register();
    expect((await api.get('/users/me')).status).toBe(401);
    const forged = `${shopper.token.slice(0, -4)}AAAA`;
    const res = await api.get('/users/me', { token: forged });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    const wrongPassword = await api.post('/users/login', { username: shopper.username, password: 'not the password' });
    const unknownUser = await api.post('/users/login', { username: `nobody_${unique()}`, password: 'not the password' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownUser.body).toEqual(wrongPassword.body);
  });

  test('403 forbidden: a shopper on admin routes', async () => {
    const shopper = await register();
    const res = await api.post('/products', { name: 'Nope', description: 'x', price: 1 }, { token: shopper.token });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect((await api.get('/users', { token: shopper.token })).status).toBe(403);
  });

  test('404 not_found: unknown route and unknown product', async () => {
    const route = await api.get('/nowhere');
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe('not_found');
    const product = await api.get(`/products/${randomUUID()}`);
    expect(product.status).toBe(404);
    expect(product.body.error.code).toBe('not_found');
  });

  test('409 conflict: a username taken in another case', async () => {
    const taken = await register('Carol');
    const res = await api.post('/users/register', { username: taken.username.toUpperCase(), password: 'another good password' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  test('413 payload_too_large: a body over 1 MiB', async () => {
    const res = await api.post('/users/register', { username: 'big', password: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  test('X-Request-Id: a given id comes back; without one, the gateway makes one', async () => {
    const given = await api.get('/products?limit=1', { headers: { 'x-request-id': 'journey-req-1' } });
    expect(given.headers.get('x-request-id')).toBe('journey-req-1');
    const made = await api.get('/products?limit=1');
    expect(made.headers.get('x-request-id')).toMatch(/\S{8,}/);
  });

  test('/docs: one API reference for all three services', async () => {
    const doc = await api.get('/docs/openapi.json');
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths);
    expect(paths).toEqual(expect.arrayContaining(['/users/register', '/products', '/orders', '/orders/{id}/cancel']));
    const page = await api.get('/docs');
    expect(page.status).toBe(200);
  });
});

describe.runIf(!process.env.E2E_GATEWAY_URL)('failures and restarts (processes owned by this run)', () => {
  test('a restart keeps users, tokens, products and orders', async () => {
    const admin = await adminToken();
    const product = await createProduct(admin);
    const shopper = await register();
    const order = await api.post('/orders', { productId: product.id }, { token: shopper.token });
    expect(order.status).toBe(201);

    await stack.local!.restart();

    // The signing key lives in the user service's database, so tokens survive a restart.
    const mine = await api.get('/orders', { token: shopper.token });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.body.orders[0].id).toBe(order.body.order.id);
    expect((await api.post('/users/login', { username: shopper.username, password: shopper.password })).status).toBe(200);
    expect((await api.get(`/products/${product.id}`)).status).toBe(200);
  }, 120_000);

  test('product service down: the gateway answers 503 for /products, and placing an order answers 503 fast', async () => {
    const shopper = await register();
    await stack.local!.stack.stopService('product');

    const listing = await api.get('/products');
    expect([502, 503]).toContain(listing.status);
    expect(listing.body.error.code).toMatch(/bad_gateway|service_unavailable/);

    const started = Date.now();
    const order = await api.post('/orders', { productId: randomUUID() }, { token: shopper.token });
    expect(order.status).toBe(503);
    expect(order.body.error.code).toBe('service_unavailable');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await api.get('/orders', { token: shopper.token })).body.total).toBe(0);

    const ready = await api.get('/readyz');
    expect(ready.status).toBe(503);
  }, 60_000);
});
