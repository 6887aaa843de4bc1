import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Type } from 'typebox';
import { errorResponses, IdParams, type App } from '@mini/shared';
import { createDocsSource } from '../docs.js';
import { createUpstream } from '../upstreams.js';
import { deadUrl, startAppStub, startGateway, jsonOf } from './stubs.js';

const Product = Type.Object({ id: Type.String(), name: Type.String() });
const hits = { users: 0, products: 0 };
let userStub: { app: App; url: string };
let productStub: { app: App; url: string };
let ordersDown: string;
let gateway: { app: App; url: string };

beforeAll(async () => {
  userStub = await startAppStub(
    'user-service',
    (app) => {
      app.post(
        '/users/register',
        {
          schema: {
            tags: ['users'],
            summary: 'Create an account',
            body: Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: false }),
            response: { 201: Type.Object({ token: Type.String() }), ...errorResponses(400, 409) },
          },
        },
        async (_req, reply) => reply.code(201).send({ token: 't' }),
      );
      app.get('/users/me', { schema: { tags: ['users'], summary: 'Who am I', security: [{ bearerAuth: [] }] } }, async () => ({}));
      // Served by the user service but not routed by the gateway: must not be advertised there.
      app.get('/.well-known/jwks.json', { schema: { tags: ['keys'] } }, async () => ({ keys: [] }));
    },
    {},
    (app) => app.addHook('onRequest', async (request) => void (request.url === '/openapi.json' && hits.users++)),
  );
  productStub = await startAppStub(
    'product-service',
    (app) => {
      app.get(
        '/products',
        { schema: { tags: ['products'], summary: 'List products', response: { 200: Type.Object({ products: Type.Array(Product) }) } } },
        async () => ({
          products: [],
        }),
      );
      app.get(
        '/products/:id',
        {
          schema: {
            tags: ['products'],
            summary: 'One product',
            params: IdParams,
            response: { 200: Type.Object({ product: Product }), ...errorResponses(404) },
          },
        },
        async () => ({
          product: { id: 'x', name: 'y' },
        }),
      );
    },
    {},
    (app) => app.addHook('onRequest', async (request) => void (request.url === '/openapi.json' && hits.products++)),
  );
  ordersDown = await deadUrl();
  gateway = await startGateway({ upstreams: { users: [userStub.url], products: [productStub.url], orders: [ordersDown] } });
});

afterAll(async () => {
  await gateway.app.close();
  await Promise.all([userStub.app.close(), productStub.app.close()]);
});

describe('GET /docs/openapi.json', () => {
  test('merges the services documents into one OpenAPI 3.1 document served by the gateway', async () => {
    const res = await fetch(`${gateway.url}/docs/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await jsonOf(res);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/', description: expect.stringContaining('The API gateway'), 'x-internal': false }]);
    // The services' routes the gateway forwards, then its own probes.
    expect(Object.keys(doc.paths)).toEqual(['/users/register', '/users/me', '/products', '/products/{id}', '/healthz', '/readyz']);
    expect(doc.paths['/users/register'].post).toMatchObject({ tags: ['users'], summary: 'Create an account' });
    expect(doc.paths['/users/me'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/products/{id}'].get.responses['404']).toBeDefined();
    expect(doc.components.securitySchemes).toEqual({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: expect.stringContaining('RFC8725') },
    });
  });

  test('an upstream that is down: the rest is served and the description names the missing one', async () => {
    const doc = await jsonOf(await fetch(`${gateway.url}/docs/openapi.json`));
    expect(doc.info.description).toContain('order-service (unreachable)');
    expect(doc['x-missing-services']).toEqual(['order-service (unreachable)']);
    expect(Object.keys(doc.paths).some((path) => path.startsWith('/orders'))).toBe(false);
  });

  test('is cached: a second read within the TTL fetches nothing upstream', async () => {
    await fetch(`${gateway.url}/docs/openapi.json`);
    const before = { ...hits };
    const again = await fetch(`${gateway.url}/docs/openapi.json`);
    expect(again.status).toBe(200);
    expect(hits).toEqual(before);
  });

  test('the gateway itself has no /openapi.json, and /docs/yaml does not exist', async () => {
    for (const path of ['/openapi.json', '/docs/yaml']) {
      const res = await fetch(`${gateway.url}${path}`);
      expect(res.status, path).toBe(404);
      expect((await jsonOf(res)).error.code).toBe('not_found');
    }
  });
});

describe('createDocsSource', () => {
  test('refetches after the TTL, sooner when the last document was incomplete; concurrent readers share a fetch', async () => {
    let now = 0;
    const upstreams = [createUpstream('user-service', '/users', [userStub.url]), createUpstream('order-service', '/orders', [ordersDown])];
    try {
      const partial = createDocsSource({ upstreams, timeoutMs: 500, ttlMs: 30_000, partialTtlMs: 5_000, now: () => now });
      const start = hits.users;
      const [a, b] = await Promise.all([partial.get(), partial.get()]);
      expect(a).toBe(b);
      expect(hits.users - start).toBe(1);
      now = 4_999;
      await partial.get();
      expect(hits.users - start).toBe(1);
      now = 5_001;
      await partial.get();
      expect(hits.users - start).toBe(2);

      const complete = createDocsSource({
        upstreams: upstreams.slice(0, 1),
        timeoutMs: 500,
        ttlMs: 30_000,
        partialTtlMs: 5_000,
        now: () => now,
      });
      const before = hits.users;
      expect((await complete.get())['x-missing-services']).toEqual([]);
      now += 29_000;
      await complete.get();
      expect(hits.users - before).toBe(1);
      now += 2_000;
      await complete.get();
      expect(hits.users - before).toBe(2);
    } finally {
      await Promise.all(upstreams.map((upstream) => upstream.dispatcher.close()));
    }
  });
});

describe('GET /docs', () => {
  test.each(['/docs', '/docs/'])('%s: an HTML reference whose scripts and styles all load from the gateway', async (page) => {
    const res = await fetch(`${gateway.url}${page}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    // Nothing from another origin: no https: sources, no validator badge; no framing.
    expect(csp).not.toMatch(/https:|validator\.swagger\.io/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset, asset).not.toMatch(/^(https?:)?\/\//);
      const url = new URL(asset, `${gateway.url}${page}`);
      expect(url.origin).toBe(gateway.url);
      const loaded = await fetch(url);
      expect(loaded.status, asset).toBe(200);
      expect((await loaded.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    expect(assets.some((asset) => asset.endsWith('swagger-ui-bundle.js'))).toBe(true);
  });

  test('the UI loads ./json, which is the combined document', async () => {
    const initializer = await (await fetch(`${gateway.url}/docs/static/swagger-initializer.js`)).text();
    expect(initializer).toContain("resolveUrl('./json')");
    const doc = await jsonOf(await fetch(`${gateway.url}/docs/json`));
    expect(Object.keys(doc.paths)).toContain('/users/register');
    expect(Object.keys(doc.paths)).toContain('/products/{id}');
  });
});
