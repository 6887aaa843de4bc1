import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { Type } from 'typebox';
import { ConflictError, type App } from '@mini/shared';
import { startAppStub, startEchoStub, startGateway, startGatewayOverEchoStubs, type EchoStub } from './stubs.js';

let setup: Awaited<ReturnType<typeof startGatewayOverEchoStubs>>;
let users: EchoStub;
let products: EchoStub;
let orders: EchoStub;
let gateway: { app: App; url: string; port: number };
const seen = (marker: string) => setup.seen(marker);

beforeAll(async () => {
  setup = await startGatewayOverEchoStubs();
  ({ users, products, orders, gateway } = setup);
});

afterAll(() => setup.close());

async function send(path: string, options: Parameters<typeof request>[1] = {}) {
  const res = await request(`${gateway.url}${path}`, options);
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
}

describe('routing', () => {
  test.each([
    ['/users', 'users'],
    ['/products', 'products'],
    ['/orders', 'orders'],
  ])('%s and its sub-paths: forwarded to the %s upstream with path and query unchanged', async (prefix, upstream) => {
    const marker = randomUUID();
    for (const path of [
      `${prefix}/${marker}/deep/path?q=a+b&x=%2F&x=2&flag&q2=%C3%A9`,
      `${prefix}?marker=${marker}`,
      `${prefix}/?marker=${marker}`,
    ]) {
      const res = await send(path);
      expect(res.status, path).toBe(200);
      expect(res.json()).toMatchObject({ upstream, method: 'GET', url: path });
    }
    expect(seen(marker).map((r) => r.stub)).toEqual([upstream, upstream, upstream]);
  });

  test('the paths the services own (register, login, me, ids, cancel) go through unchanged', async () => {
    const id = randomUUID();
    for (const [method, path, upstream] of [
      ['POST', '/users/register', 'users'],
      ['POST', '/users/login', 'users'],
      ['GET', '/users/me', 'users'],
      ['GET', `/products/${id}`, 'products'],
      ['POST', `/orders/${id}/cancel`, 'orders'],
    ] as const) {
      const res = await send(path, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(res.json(), path).toMatchObject({ upstream, method, url: path });
    }
  });

  test.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)('%s: forwarded with its method', async (method) => {
    const marker = randomUUID();
    const res = await send(`/products/${marker}`, { method });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ upstream: 'products', method });
  });

  test('HEAD: forwarded, headers back and no body', async () => {
    const marker = randomUUID();
    const res = await send(`/orders/${marker}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(seen(marker)).toMatchObject([{ stub: 'orders', method: 'HEAD' }]);
  });

  test('unknown paths: the gateway 404 envelope, and no upstream sees them', async () => {
    const marker = randomUUID();
    for (const path of ['/', '/admin', '/openapi.json', '/.well-known/jwks.json', '/productsx', '/Products', '/user', '/api/products']) {
      const res = await send(`${path}?m=${marker}`);
      expect(res.status, path).toBe(404);
      expect(res.json(), path).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
    expect(seen(marker)).toEqual([]);
  });

  test('TRACE is not forwarded', async () => {
    const marker = randomUUID();
    const res = await send(`/products/${marker}`, { method: 'TRACE' });
    expect(res.status).toBe(404);
    expect(seen(marker)).toEqual([]);
  });
});

describe('several origins for one service', () => {
  test('requests are balanced round-robin over them, and readiness goes through the same pool', async () => {
    const [first, second] = await Promise.all([startEchoStub('products-1'), startEchoStub('products-2')]);
    const balanced = await startGateway({ upstreams: { users: [users.url], products: [first.url, second.url], orders: [orders.url] } });
    try {
      for (let i = 0; i < 10; i++) {
        const res = await request(`${balanced.url}/products/${i}`);
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      }
      expect(first.requests.length).toBeGreaterThan(0);
      expect(second.requests.length).toBeGreaterThan(0);
      expect(first.requests.length + second.requests.length).toBe(10);
      const ready = await request(`${balanced.url}/readyz`);
      expect(ready.statusCode).toBe(200);
      await ready.body.dump();
    } finally {
      await balanced.app.close();
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('bodies', () => {
  test('a binary body goes up and comes back byte for byte', async () => {
    const payload = randomBytes(300 * 1024);
    const res = await send('/products/upload', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-stub-body': 'raw' },
      body: payload,
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.body.equals(payload)).toBe(true);
    const upstreamSaw = products.requests.at(-1)!;
    expect(upstreamSaw.body.equals(payload)).toBe(true);
    expect(upstreamSaw.headers['content-length']).toBe(String(payload.length));
  });

  test('a JSON body is not re-serialised: whitespace and key order arrive as sent', async () => {
    const text = '{ "b" : 2,\n  "a":[1, 2 ,3] ,"é": "\\u00e9" }';
    const marker = randomUUID();
    const res = await send(`/orders/${marker}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: text,
    });
    expect(res.status).toBe(200);
    const [upstreamSaw] = seen(marker);
    expect(upstreamSaw!.body.toString()).toBe(text);
    expect(upstreamSaw!.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('a chunked body under the limit arrives intact, read whole first and sent with its length', async () => {
    const chunks = Array.from({ length: 20 }, () => randomBytes(16 * 1024));
    const marker = randomUUID();
    const res = await send(`/users/${marker}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.from(chunks),
    });
    expect(res.status).toBe(200);
    const [upstreamSaw] = seen(marker);
    expect(upstreamSaw!.headers['transfer-encoding']).toBeUndefined();
    expect(upstreamSaw!.headers['content-length']).toBe(String(20 * 16 * 1024));
    expect(upstreamSaw!.body.equals(Buffer.concat(chunks))).toBe(true);
  });

  test('a body without content-type is forwarded as is', async () => {
    const marker = randomUUID();
    const res = await send(`/users/${marker}`, { method: 'POST', body: 'plain bytes' });
    expect(res.status).toBe(200);
    expect(seen(marker)[0]!.body.toString()).toBe('plain bytes');
  });
});

describe('answers', () => {
  test('status, end-to-end headers (several Set-Cookie too) and body come back unchanged', async () => {
    const res = await send('/orders/x', {
      headers: {
        'x-stub-status': '201',
        'x-stub-response-headers': JSON.stringify({
          'x-custom': 'yes',
          'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
          'cache-control': 'no-store',
          location: '/orders/abc',
        }),
      },
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-custom']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.location).toBe('/orders/abc');
    expect(res.json()).toMatchObject({ upstream: 'orders', url: '/orders/x' });
  });

  test('hop-by-hop answer headers, and those the upstream names in Connection, never reach the client', async () => {
    const res = await send('/products/hop', {
      headers: {
        'x-stub-response-headers': JSON.stringify({
          connection: 'x-internal, x-other',
          'x-internal': '1',
          'x-other': '2',
          'keep-alive': 'timeout=99, max=7',
          'proxy-authenticate': 'Basic realm="internal"',
          'proxy-connection': 'keep-alive',
          trailer: 'x-checksum',
          upgrade: 'h2c',
          'x-kept': 'yes',
        }),
      },
    });
    expect(res.status).toBe(200);
    for (const header of ['x-internal', 'x-other', 'proxy-authenticate', 'proxy-connection', 'trailer', 'upgrade']) {
      expect(res.headers[header], header).toBeUndefined();
    }
    // Node adds its own Keep-Alive for this hop; the upstream's must not leak.
    expect(String(res.headers['keep-alive'] ?? '')).not.toContain('99');
    expect(String(res.headers.connection ?? '')).not.toContain('x-internal');
    expect(res.headers['x-kept']).toBe('yes');
  });

  test('an upstream error envelope (malformed JSON, a conflict) passes through unchanged', async () => {
    const stub = await startAppStub('product-service', (app) => {
      app.post('/products', { schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) } }, async () => {
        throw new ConflictError('product name taken');
      });
    });
    const viaStub = await startGateway({ upstreams: { users: [users.url], products: [stub.url], orders: [orders.url] } });
    try {
      for (const body of ['{"name":', '{"name":"x"}', '{"name":"x","role":"admin"}']) {
        const options = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
        const direct = await request(`${stub.url}/products`, options);
        const directBody = await direct.body.text();
        const proxied = await request(`${viaStub.url}/products`, options);
        const proxiedBody = await proxied.body.text();
        expect(proxied.statusCode, body).toBe(direct.statusCode);
        expect(proxiedBody, body).toBe(directBody);
        expect(proxied.headers['content-type']).toBe(direct.headers['content-type']);
      }
      const malformed = await request(`${viaStub.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":',
      });
      expect(malformed.statusCode).toBe(400);
      expect(await malformed.body.json()).toEqual({ error: { code: 'validation_error', message: 'malformed JSON body' } });
    } finally {
      await viaStub.app.close();
      await stub.app.close();
    }
  });
});

describe('forwarding headers', () => {
  test('X-Forwarded-For from an untrusted client is replaced by its address, X-Forwarded-Proto and -Host are set, Host is the upstream', async () => {
    const marker = randomUUID();
    await send(`/users/${marker}`, { headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7' } });
    await send(`/users/${marker}?second`);
    const [first, second] = seen(marker);
    expect(first!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(first!.headers.forwarded).toBeUndefined();
    expect(first!.headers['x-forwarded-proto']).toBe('http');
    expect(first!.headers['x-forwarded-host']).toBe('shop.example');
    expect(first!.headers.host).toBe(`127.0.0.1:${users.port}`);
    expect(second!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(second!.headers['x-forwarded-host']).toBe(`127.0.0.1:${gateway.port}`);
  });

  test('X-Request-Id: a sane one is kept, and is the same upstream and back to the client', async () => {
    const marker = randomUUID();
    const res = await send(`/orders/${marker}`, {
      headers: { 'x-request-id': 'client-id-42', 'x-stub-response-headers': JSON.stringify({ 'x-request-id': 'upstream-made-this' }) },
    });
    expect(res.headers['x-request-id']).toBe('client-id-42');
    expect(seen(marker)[0]!.headers['x-request-id']).toBe('client-id-42');
  });

  test('X-Request-Id: missing or not sane, one is made, the same upstream and back to the client', async () => {
    for (const given of [undefined, 'has spaces and <html>', 'x'.repeat(200)]) {
      const marker = randomUUID();
      const res = await send(`/orders/${marker}`, { headers: given === undefined ? {} : { 'x-request-id': given } });
      const id = res.headers['x-request-id'];
      expect(id, given).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen(marker)[0]!.headers['x-request-id']).toBe(id);
    }
  });

  test('a Host header naming another service does not change where the request goes', async () => {
    const marker = randomUUID();
    const res = await send(`/products/${marker}`, { headers: { host: `127.0.0.1:${users.port}` } });
    expect(res.json()).toMatchObject({ upstream: 'products' });
    expect(seen(marker).map((r) => r.stub)).toEqual(['products']);
  });
});
