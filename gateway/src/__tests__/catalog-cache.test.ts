import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { startGateway, startGatewayOverEchoStubs, type EchoStub } from './stubs.js';

let setup: Awaited<ReturnType<typeof startGatewayOverEchoStubs>>;
let users: EchoStub;
let products: EchoStub;
let orders: EchoStub;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  setup = await startGatewayOverEchoStubs();
  ({ users, products, orders, gateway } = setup);
});

afterAll(() => setup.close());

/** Asks the echo stub to answer with these headers (it takes them from the request). */
const answering = (headers: Record<string, string>) => ({ 'x-stub-response-headers': JSON.stringify(headers) });
const PUBLIC = answering({ 'cache-control': 'public, max-age=60' });

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(`${gateway.url}${path}`, { headers });
  const body = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body };
}

const reached = (stub: EchoStub, marker: string) => stub.requests.filter((r) => r.url.includes(marker)).length;

describe('the catalog cache at the gateway', () => {
  test('an answer the product service marks public is reused for its max-age: the service is asked once', async () => {
    const marker = randomUUID();
    const first = await get(`/products?marker=${marker}`, PUBLIC);
    const again = await Promise.all(Array.from({ length: 5 }, () => get(`/products?marker=${marker}`, PUBLIC)));
    expect(reached(products, marker)).toBe(1);
    for (const answer of again) {
      expect(answer.status).toBe(200);
      expect(answer.body).toBe(first.body);
      expect(answer.headers['content-type']).toBe(first.headers['content-type']);
      expect(answer.headers.age).toBeDefined();
      // Each answer still carries its own request id, not the first one's.
      expect(answer.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    }
    // Another query string is another answer.
    await get(`/products?marker=${marker}&limit=5`, PUBLIC);
    expect(reached(products, marker)).toBe(2);
  });

  test('answers without a public max-age, errors, and other services are never reused', async () => {
    const marker = randomUUID();
    for (let i = 0; i < 2; i++) {
      await get(`/products/${marker}-plain`);
      await get(`/products/${marker}-nostore`, answering({ 'cache-control': 'no-store' }));
      await get(`/products/${marker}-private`, answering({ 'cache-control': 'private, max-age=60' }));
      await get(`/products/${marker}-404`, { ...PUBLIC, 'x-stub-status': '404' });
      await get(`/users/${marker}`, PUBLIC);
      await get(`/orders/${marker}`, PUBLIC);
    }
    expect(reached(products, marker)).toBe(8);
    expect(reached(users, marker)).toBe(2);
    expect(reached(orders, marker)).toBe(2);
  });

  test('a request with a token is answered by the service, and its answer is not kept for others', async () => {
    const marker = randomUUID();
    await get(`/products/${marker}`, { ...PUBLIC, authorization: 'Bearer a.b.c' });
    await get(`/products/${marker}`, PUBLIC);
    expect(reached(products, marker)).toBe(2);
  });

  test('a client asking for a fresh answer (Cache-Control: no-cache) gets one', async () => {
    const marker = randomUUID();
    await get(`/products/${marker}`, PUBLIC);
    await get(`/products/${marker}`, { ...PUBLIC, 'cache-control': 'no-cache' });
    expect(reached(products, marker)).toBe(2);
  });

  test('a successful write through the gateway empties the cache, so every list shows it at once', async () => {
    const marker = randomUUID();
    await get(`/products?marker=${marker}`, PUBLIC);
    await get(`/products/${marker}`, PUBLIC);
    const failed = await request(`${gateway.url}/products/${marker}`, { method: 'PATCH', headers: { 'x-stub-status': '409' }, body: '{}' });
    await failed.body.dump();
    await get(`/products?marker=${marker}`, PUBLIC);
    expect(reached(products, marker)).toBe(3); // two reads and the refused write; the second list came from the cache

    const written = await request(`${gateway.url}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await written.body.dump();
    await get(`/products?marker=${marker}`, PUBLIC);
    await get(`/products/${marker}`, PUBLIC);
    expect(reached(products, marker)).toBe(5);
  });

  test('a read that was under way while a write went through is not kept: it may predate the write', async () => {
    const marker = randomUUID();
    const slowRead = get(`/products?marker=${marker}`, { ...PUBLIC, 'x-stub-delay-ms': '400' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const written = await request(`${gateway.url}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await written.body.dump();
    await slowRead;
    await get(`/products?marker=${marker}`, PUBLIC);
    expect(reached(products, marker)).toBe(2);
  });

  test('with CATALOG_CACHE_MB=0 nothing is reused', async () => {
    const uncached = await startGateway({
      upstreams: { users: [users.url], products: [products.url], orders: [orders.url] },
      catalogCacheBytes: 0,
    });
    try {
      const marker = randomUUID();
      for (let i = 0; i < 3; i++) {
        const res = await request(`${uncached.url}/products/${marker}`, { headers: PUBLIC });
        await res.body.dump();
      }
      expect(reached(products, marker)).toBe(3);
    } finally {
      await uncached.app.close();
    }
  });
});

describe('the cache is bounded', () => {
  async function gatewayWithCache(catalogCacheBytes: number) {
    return startGateway({ upstreams: { users: [users.url], products: [products.url], orders: [orders.url] }, catalogCacheBytes });
  }

  test('distinct URLs never grow it past its bytes: the least recently used go first', async () => {
    const small = await gatewayWithCache(20_000);
    try {
      const marker = randomUUID();
      const url = (i: number) => `${small.url}/products/${marker}?n=${i}`;
      for (let i = 0; i < 100; i++) await (await request(url(i), { headers: PUBLIC })).body.dump();
      expect(reached(products, marker)).toBe(100);
      await (await request(url(99), { headers: PUBLIC })).body.dump();
      expect(reached(products, marker)).toBe(100); // the latest is still kept
      await (await request(url(0), { headers: PUBLIC })).body.dump();
      expect(reached(products, marker)).toBe(101); // the first is long gone
    } finally {
      await small.app.close();
    }
  });

  test('an answer larger than an entry may be, one that varies, or one that sets a cookie is not kept', async () => {
    const tiny = await gatewayWithCache(300);
    try {
      const marker = randomUUID();
      for (let i = 0; i < 2; i++) await (await request(`${tiny.url}/products/${marker}-big`, { headers: PUBLIC })).body.dump();
      expect(reached(products, marker)).toBe(2);
    } finally {
      await tiny.app.close();
    }
    const marker = randomUUID();
    for (let i = 0; i < 2; i++) {
      await get(`/products/${marker}-vary`, answering({ 'cache-control': 'public, max-age=60', vary: 'accept-language' }));
      await get(`/products/${marker}-cookie`, answering({ 'cache-control': 'public, max-age=60', 'set-cookie': 'a=b' }));
    }
    expect(reached(products, marker)).toBe(4);
  });
});
