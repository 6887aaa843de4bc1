import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import type { App } from '@mini/shared';
import { deadUrl, rawRequest, startEchoStub, startGateway, startTcpStub, type EchoStub } from './stubs.js';

const TIMEOUT_MS = 300;
const LIMIT = 1024 * 1024;

let users: EchoStub;
let orders: EchoStub;
let refusedUrl: string;
let garbage: Awaited<ReturnType<typeof startTcpStub>>;
let hangUp: Awaited<ReturnType<typeof startTcpStub>>;
// Products is down (connection refused); users answers slowly on demand; orders is healthy.
let gateway: { app: App; url: string; port: number };

beforeAll(async () => {
  [users, orders] = await Promise.all([startEchoStub('users'), startEchoStub('orders')]);
  refusedUrl = await deadUrl();
  garbage = await startTcpStub((socket) => socket.once('data', () => socket.end('HTTP/1.1 abc nonsense\r\n\r\n')));
  hangUp = await startTcpStub((socket) => socket.once('data', () => socket.destroy()));
  gateway = await startGateway({
    upstreams: { users: [users.url], products: [refusedUrl], orders: [orders.url] },
    upstreamTimeoutMs: TIMEOUT_MS,
  });
});

afterAll(async () => {
  await gateway.app.close();
  await Promise.all([users.close(), orders.close(), garbage.close(), hangUp.close()]);
});

async function timed(url: string, options: Parameters<typeof request>[1] = {}) {
  const started = performance.now();
  const res = await request(url, options);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text), ms: performance.now() - started };
}

function expectEnvelopeOnly(text: string) {
  // Never reply-from's or Fastify's own error bodies.
  expect(text).not.toMatch(/FST_|statusCode|Internal Server Error/);
}

describe('upstream down', () => {
  test('connection refused: 503 service_unavailable envelope, fast', async () => {
    const res = await timed(`${gateway.url}/products?limit=5`);
    expect(res.status).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'service_unavailable', message: 'product-service is unavailable' } });
    // Refused at once: a 503, not a wait for the answer timeout (which would be a 504).
    expect(res.ms).toBeLessThan(1_000);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expectEnvelopeOnly(res.text);
  });

  test('connection refused with a body: 503 too', async () => {
    const res = await timed(`${gateway.url}/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(503);
    expect(res.json().error.code).toBe('service_unavailable');
  });

  test('an upstream that is down takes nothing else with it', async () => {
    const res = await timed(`${gateway.url}/orders/fine`);
    expect(res.status).toBe(200);
  });
});

describe('upstream slow', () => {
  test('no answer headers within the timeout: 504 gateway_timeout, about when the timeout ends', async () => {
    const res = await timed(`${gateway.url}/users/slow`, { headers: { 'x-stub-delay-ms': '3000' } });
    expect(res.status).toBe(504);
    expect(res.json()).toEqual({ error: { code: 'gateway_timeout', message: 'user-service timed out' } });
    // undici checks answer-header timeouts on a coarse (about 1 s) clock: late by up to a second, never hung.
    expect(res.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(res.ms).toBeLessThan(TIMEOUT_MS + 1_500);
    expectEnvelopeOnly(res.text);
  });

  test('slower than usual but within the timeout: the answer comes through', async () => {
    const res = await timed(`${gateway.url}/users/slowish`, { headers: { 'x-stub-delay-ms': String(TIMEOUT_MS / 3) } });
    expect(res.status).toBe(200);
  });
});

describe('upstream broken', () => {
  test('an answer that is not HTTP: 502 bad_gateway envelope', async () => {
    const broken = await startGateway({
      upstreams: { users: [garbage.url], products: [hangUp.url], orders: [orders.url] },
      upstreamTimeoutMs: TIMEOUT_MS,
    });
    try {
      const res = await timed(`${broken.url}/users/me`);
      expect(res.status).toBe(502);
      expect(res.json()).toEqual({ error: { code: 'bad_gateway', message: 'user-service sent a broken answer' } });
      expectEnvelopeOnly(res.text);

      const before = hangUp.connections();
      const hung = await timed(`${broken.url}/products/x`);
      expect(hung.status).toBe(502);
      expect(hung.json().error.code).toBe('bad_gateway');
      // A GET whose connection is dropped is retried once (a stale kept-alive socket looks the same), no more.
      expect(hangUp.connections() - before).toBe(2);

      const posted = await timed(`${broken.url}/products`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(posted.status).toBe(502);
      expect(hangUp.connections() - before).toBe(3);
    } finally {
      await broken.app.close();
    }
  });
});

describe('body limit (1 MiB by default)', () => {
  test('Content-Length over the limit: 413 payload_too_large before anything is forwarded', async () => {
    const marker = randomUUID();
    const res = await rawRequest(gateway.port, [
      `POST /orders/${marker} HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/json\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`,
    ]);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'payload_too_large', message: `request body is larger than ${LIMIT} bytes` } });
    expect(res.headers.connection).toEqual(['close']);
    expect(orders.requests.filter((r) => r.url.includes(marker))).toEqual([]);
  });

  test('Content-Length at the limit: forwarded whole', async () => {
    const body = randomBytes(LIMIT);
    const res = await timed(`${gateway.url}/orders/at-limit`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.json().bodyLength).toBe(LIMIT);
  });

  test('a chunked body that grows past the limit: 413, and the upstream never gets more than the limit', async () => {
    const marker = randomUUID();
    const chunk = randomBytes(64 * 1024);
    const parts: (string | Buffer)[] = [
      `POST /orders/${marker} HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ];
    for (let sent = 0; sent <= LIMIT + chunk.length; sent += chunk.length) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    parts.push('0\r\n\r\n');
    const res = await rawRequest(gateway.port, parts);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    const forwarded = orders.requests.filter((r) => r.url.includes(marker));
    for (const r of forwarded) {
      expect(r.complete).toBe(false);
      expect(r.body.length).toBeLessThanOrEqual(LIMIT);
    }
  });

  test('a chunked body that keeps coming after the 413: the gateway closes the connection', async () => {
    const chunk = randomBytes(256 * 1024);
    const parts: (string | Buffer)[] = ['POST /users/endless HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let i = 0; i < 40; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    const res = await rawRequest(gateway.port, parts, { pauseMs: 1 });
    expect(res.status).toBe(413);
  });

  test('a chunked body at the limit: forwarded whole', async () => {
    const marker = randomUUID();
    const chunk = randomBytes(LIMIT / 16);
    const parts: (string | Buffer)[] = [
      `POST /users/${marker} HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
    ];
    for (let i = 0; i < 16; i++) parts.push(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
    parts.push('0\r\n\r\n');
    const res = await rawRequest(gateway.port, parts);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).bodyLength).toBe(LIMIT);
  });

  test('BODY_LIMIT_BYTES is honoured', async () => {
    const small = await startGateway({ upstreams: { users: [users.url], products: [refusedUrl], orders: [orders.url] }, bodyLimit: 100 });
    try {
      const over = await timed(`${small.url}/users/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(101),
      });
      expect(over.status).toBe(413);
      const under = await timed(`${small.url}/users/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'x'.repeat(100),
      });
      expect(under.status).toBe(200);
    } finally {
      await small.app.close();
    }
  });
});
