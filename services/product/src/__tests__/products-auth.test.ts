import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestIssuer } from '@mini/shared/testing';
import type { App, Pool } from '@mini/shared';
import { startProductApp, uniqueToken, type TestIssuer } from './helpers.js';

let app: App;
let pool: Pool;
let issuer: TestIssuer;
let close: () => Promise<void>;
let admin: Record<string, string>;
let user: Record<string, string>;

beforeAll(async () => {
  ({ app, pool, issuer, close } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
  user = (await issuer.signIn('user')).headers;
});
afterAll(async () => close());

function validProduct() {
  return { name: `Mug ${uniqueToken()}`, description: 'Stoneware, 300 ml', price: 12.5, stock: 3 };
}

async function createProduct() {
  const res = await app.inject({ method: 'POST', url: '/products', headers: admin, payload: validProduct() });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().product;
}

async function storedCount(name: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*) AS n FROM products WHERE name = $1', [name]);
  return rows[0]?.n ?? 0;
}

describe('admin routes: authentication and role', () => {
  type Route = { method: 'POST' | 'PATCH' | 'DELETE'; url: (id: string) => string };
  const routes: [string, Route][] = [
    ['POST /products', { method: 'POST', url: () => '/products' }],
    ['PATCH /products/:id', { method: 'PATCH', url: (id) => `/products/${id}` }],
    ['DELETE /products/:id', { method: 'DELETE', url: (id) => `/products/${id}` }],
  ];
  // An invalid body: the guard must answer before the body is even validated.
  const invalidBody = { name: '', price: -1, role: 'admin' };

  async function expectUnchanged(product: { id: string }) {
    expect((await app.inject({ method: 'GET', url: `/products/${product.id}` })).json().product).toEqual(product);
  }

  async function badTokens(): Promise<[string, Record<string, string>][]> {
    const stranger = await createTestIssuer();
    const now = Math.floor(Date.now() / 1000);
    const caller = { id: randomUUID(), username: 'root', role: 'admin' as const };
    const otherAudience = await createTestIssuer({ audience: 'somebody-else' });
    return [
      ['no token', {}],
      ['a malformed token', { authorization: 'Bearer not-a-jwt' }],
      ['a non-bearer scheme', { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }],
      ['a token signed by another key', (await stranger.signIn('admin')).headers],
      ['an expired token', { authorization: `Bearer ${await issuer.sign(caller, { issuedAt: now - 7200, expiresIn: now - 3600 })}` }],
      ['a token for another audience', (await otherAudience.signIn('admin')).headers],
    ];
  }

  test.each(routes)('%s: when the token is missing or bad, then 401 and nothing changes', async (_name, route) => {
    const product = await createProduct();
    for (const [label, headers] of await badTokens()) {
      const res = await app.inject({ method: route.method, url: route.url(product.id), headers, payload: invalidBody });
      expect(res.statusCode, label).toBe(401);
      expect(res.json().error.code, label).toBe('unauthorized');
      expect(res.headers['www-authenticate'], label).toBe('Bearer');
    }
    await expectUnchanged(product);
  });

  test.each(routes)(
    '%s: when the caller is not an admin, then 403 (before the body is validated) and nothing changes',
    async (_name, route) => {
      const product = await createProduct();
      const res = await app.inject({ method: route.method, url: route.url(product.id), headers: user, payload: invalidBody });
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toEqual({ code: 'forbidden', message: 'admin role required' });
      await expectUnchanged(product);
    },
  );

  test('POST /products: when a non-admin sends a valid body, then 403 and nothing is stored', async () => {
    const payload = validProduct();
    const res = await app.inject({ method: 'POST', url: '/products', headers: user, payload });
    expect(res.statusCode).toBe(403);
    expect(await storedCount(payload.name)).toBe(0);
  });
});
