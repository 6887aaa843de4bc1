import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App } from '@mini/shared';
import { rawRequest, startGatewayOverEchoStubs, type EchoStub } from './stubs.js';

// Requests written byte by byte on a TCP socket, as no well-behaved client library would send them.
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

const get = (target: string, headers: string[] = []) => [
  `GET ${target} HTTP/1.1\r\nHost: gateway.test\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`,
];

describe('the request target never picks the host', () => {
  test('absolute-form naming another host: answered from the configured upstream with the same path and query', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, get(`http://evil.example/products/${marker}?x=1`));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'products', url: `/products/${marker}?x=1` });
    expect(seen(marker).map((r) => [r.stub, r.url, r.headers.host])).toEqual([
      ['products', `/products/${marker}?x=1`, `127.0.0.1:${products.port}`],
    ]);
  });

  test('absolute-form naming another service (the user service itself): still the product service', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, get(`http://127.0.0.1:${users.port}/products/${marker}`));
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'products' });
    expect(seen(marker).map((r) => r.stub)).toEqual(['products']);
  });

  test('absolute-form for a path the gateway does not route: 404, nothing forwarded', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, get(`http://127.0.0.1:${users.port}/.well-known/jwks.json?m=${marker}`));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('not_found');
    expect(seen(marker)).toEqual([]);
  });

  test('a Host header naming another host changes nothing', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, [`GET /orders/${marker} HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n`]);
    expect(JSON.parse(res.body)).toMatchObject({ upstream: 'orders' });
    expect(seen(marker)[0]!.headers).toMatchObject({ host: `127.0.0.1:${orders.port}`, 'x-forwarded-host': 'evil.example:80' });
  });
});

describe('duplicate Host headers', () => {
  test('when a request carries two Host headers, then 400 in the envelope and nothing reaches an upstream', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, [
      `GET /products/${marker} HTTP/1.1\r\nHost: gateway.test\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    ]);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'validation_error', message: 'request has more than one Host header' });
    expect(seen(marker)).toEqual([]);
  });
});

describe('path tricks never reach another prefix', () => {
  const rejected = [
    '/products/../users/MARK',
    '/products/%2e%2e/users/MARK',
    '/products/%2E%2E/users/MARK',
    '/products/.%2e/users/MARK',
    '/products/..%2fusers/MARK',
    '/products/..%2Fusers/MARK',
    '/products/%2e%2e%2fusers/MARK',
    '/products/a%2fb/MARK',
    '/products/..\\users/MARK',
    '/products/..%5cusers/MARK',
    '/products/a/../../users/MARK',
    '/products/./MARK',
    '/products/..;/users/MARK',
    '/products/%00/MARK',
  ];

  test.each(rejected)('%s: 400 validation_error, forwarded nowhere', async (template) => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, get(template.replace('MARK', marker)));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'validation_error', message: expect.any(String) } });
    expect(seen(marker)).toEqual([]);
  });

  test('a raw NUL or space in the target: 400 envelope from the parser, forwarded nowhere', async () => {
    for (const target of ['/products/\0/MARK', '/products/a b/MARK']) {
      const marker = randomUUID();
      const res = await rawRequest(gateway.port, get(target.replace('MARK', marker)));
      expect(res.status, JSON.stringify(target)).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('validation_error');
      expect(seen(marker)).toEqual([]);
    }
  });

  // Broken percent-encoding (`%`, `%zz`) is refused by Fastify's router before any hook, with its own 400 body.
  test.each(['/products%2f..%2fusers/MARK', '//users/MARK', '/products/../../MARK', '/products/%/MARK', '/products/%zz/MARK'])(
    '%s: refused (400 or 404), forwarded nowhere',
    async (template) => {
      const marker = randomUUID();
      const res = await rawRequest(gateway.port, get(template.replace('MARK', marker)));
      expect([400, 404]).toContain(res.status);
      expect(seen(marker)).toEqual([]);
    },
  );

  test('encodings that stay inside the prefix are forwarded as sent, to the same upstream', async () => {
    for (const template of ['/%70roducts/MARK', '/products/%252e%252e/users/MARK', '/products/a..b%20c/MARK', '/products//MARK']) {
      const marker = randomUUID();
      const res = await rawRequest(gateway.port, get(template.replace('MARK', marker)));
      expect(res.status, template).toBe(200);
      const forwarded = seen(marker);
      expect(
        forwarded.map((r) => r.stub),
        template,
      ).toEqual(['products']);
      expect(forwarded[0]!.url.startsWith('/products/'), forwarded[0]!.url).toBe(true);
    }
  });

  test('after all of the above, the user upstream never saw a request from the product prefix', () => {
    expect(users.requests.filter((r) => !r.url.startsWith('/users'))).toEqual([]);
    expect(products.requests.filter((r) => !r.url.startsWith('/products/'))).toEqual([]);
  });
});

describe('hop-by-hop request headers are not forwarded', () => {
  test('Connection (and what it names), Keep-Alive, TE, Trailer, Upgrade, Proxy-*: stripped; end-to-end headers kept', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, [
      `GET /users/${marker} HTTP/1.1\r\n` +
        'Host: gateway.test\r\n' +
        'Connection: close, X-Secret, x-other-secret\r\n' +
        'X-Secret: 1\r\n' +
        'X-Other-Secret: 2\r\n' +
        'Keep-Alive: timeout=5, max=100\r\n' +
        'TE: trailers, deflate\r\n' +
        'Trailer: x-checksum\r\n' +
        'Upgrade: websocket\r\n' +
        'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==\r\n' +
        'Proxy-Connection: keep-alive\r\n' +
        'Authorization: Bearer end-to-end\r\n' +
        'X-End-To-End: kept\r\n' +
        '\r\n',
    ]);
    expect(res.status).toBe(200);
    const [upstreamSaw] = seen(marker);
    // The upstream hop has its own connection management (undici's keep-alive), nothing of the client's.
    expect(upstreamSaw!.headers.connection ?? 'keep-alive').toBe('keep-alive');
    for (const header of [
      'x-secret',
      'x-other-secret',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'proxy-connection',
    ]) {
      expect(upstreamSaw!.headers[header], header).toBeUndefined();
    }
    expect(upstreamSaw!.headers).toMatchObject({ authorization: 'Bearer end-to-end', 'x-end-to-end': 'kept' });
    // The gateway answered this hop itself: the connection closes as the client asked.
    expect(res.headers.connection).toEqual(['close']);
  });

  test('an Upgrade request is proxied as a plain request', async () => {
    const marker = randomUUID();
    const res = await rawRequest(
      gateway.port,
      get(`/orders/${marker}`, ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']),
    );
    expect(res.status).toBe(200);
    expect(seen(marker)[0]!.headers.upgrade).toBeUndefined();
  });

  test('hop-by-hop answer headers are not forwarded to a client that closes (no Keep-Alive at all)', async () => {
    const res = await rawRequest(gateway.port, [
      'GET /products/answer HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n' +
        `X-Stub-Response-Headers: ${JSON.stringify({ connection: 'x-internal', 'x-internal': '1', 'keep-alive': 'timeout=99' })}\r\n\r\n`,
    ]);
    expect(res.status).toBe(200);
    expect(res.headers['x-internal']).toBeUndefined();
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers.connection).toEqual(['close']);
  });

  test('Expect: 100-continue is answered by the gateway and not forwarded', async () => {
    const marker = randomUUID();
    const res = await rawRequest(
      gateway.port,
      [
        `POST /orders/${marker} HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\nContent-Length: 11\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        '{"a":"bcd"}',
      ],
      { pauseMs: 50 },
    );
    expect(res.text.startsWith('HTTP/1.1 100 Continue')).toBe(true);
    expect(res.status).toBe(200);
    const [upstreamSaw] = seen(marker);
    expect(upstreamSaw!.headers.expect).toBeUndefined();
    expect(upstreamSaw!.body.toString()).toBe('{"a":"bcd"}');
  });

  test('a GET that announces a body: the body is not forwarded and neither is its length', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, [
      `GET /users/${marker} HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
    ]);
    expect(res.status).toBe(200);
    expect(seen(marker)[0]!.headers['content-length']).toBeUndefined();
  });
});
