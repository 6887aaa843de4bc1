import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp, type GatewayDeps } from '../app.js';
import { NO_RATE_LIMITS, type RateLimits } from '../rate-limits.js';
import { REDIS_KEY_PREFIX } from '../rate-limit-store.js';
import { deadUrl, startEchoStub, startGateway, type EchoStub } from './stubs.js';

let users: EchoStub;
let products: EchoStub;
let orders: EchoStub;
const gateways: { app: { close(): Promise<unknown> } }[] = [];

beforeAll(async () => {
  [users, products, orders] = await Promise.all([startEchoStub('users'), startEchoStub('products'), startEchoStub('orders')]);
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.app.close()));
  await Promise.all([users?.close(), products?.close(), orders?.close()]);
});

async function gatewayWith(limits: Partial<RateLimits>, extra: Partial<Omit<GatewayDeps, 'logger'>> = {}) {
  const gateway = await startGateway({
    upstreams: { users: [users.url], products: [products.url], orders: [orders.url] },
    rateLimits: { ...NO_RATE_LIMITS, ...limits },
    ...extra,
  });
  gateways.push(gateway);
  return gateway;
}

/** A client address of its own per call (believed only where the gateway trusts the proxy). */
function clientAddress(): string {
  const bytes = randomUUID().replace(/-/g, '');
  return `10.${parseInt(bytes.slice(0, 2), 16)}.${parseInt(bytes.slice(2, 4), 16)}.${parseInt(bytes.slice(4, 6), 16)}`;
}

function login(url: string, username: string, { status = 401, from }: { status?: number; from?: string } = {}) {
  return fetch(`${url}/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-stub-status': String(status), ...(from ? { 'x-forwarded-for': from } : {}) },
    body: JSON.stringify({ username, password: 'guess' }),
  });
}

async function expectRateLimited(res: Response, limit: number) {
  expect(res.status).toBe(429);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('rate_limited');
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(res.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
}

describe('rate limits at the gateway (counters in memory)', () => {
  test('a client over the general limit gets 429 in the envelope with Retry-After and RateLimit-* headers; probes are not counted', async () => {
    const gateway = await gatewayWith({ perMinute: 5 });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gateway.url}/products`);
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('ratelimit-remaining'));
      await res.arrayBuffer();
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    await expectRateLimited(await fetch(`${gateway.url}/orders`), 5);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });

  test('X-Forwarded-For from an untrusted peer changes nothing: the peer address is the client', async () => {
    const gateway = await gatewayWith({ perMinute: 2 });
    for (let i = 0; i < 2; i++) expect((await fetch(`${gateway.url}/products`, { headers: { 'x-forwarded-for': clientAddress() } })).status).toBe(200);
    await expectRateLimited(await fetch(`${gateway.url}/products`, { headers: { 'x-forwarded-for': clientAddress() } }), 2);
  });

  test('behind a trusted proxy each forwarded client has its own count', async () => {
    const gateway = await gatewayWith({ perMinute: 2 }, { trustProxy: ['127.0.0.1'] });
    const alice = clientAddress();
    for (let i = 0; i < 2; i++) expect((await fetch(`${gateway.url}/products`, { headers: { 'x-forwarded-for': alice } })).status).toBe(200);
    await expectRateLimited(await fetch(`${gateway.url}/products`, { headers: { 'x-forwarded-for': alice } }), 2);
    expect((await fetch(`${gateway.url}/products`, { headers: { 'x-forwarded-for': clientAddress() } })).status).toBe(200);
  });

  test('login attempts are limited per client', async () => {
    const gateway = await gatewayWith({ loginPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await login(gateway.url, `user${i}`, { status: 200 })).status).toBe(200);
    await expectRateLimited(await login(gateway.url, 'user9', { status: 200 }), 3);
    // Other routes are not affected by the login limit.
    expect((await fetch(`${gateway.url}/products`)).status).toBe(200);
  });

  test('failed logins are limited per username, whatever the client address or the case of the name; successes are not counted', async () => {
    const gateway = await gatewayWith({ loginFailuresPerUsername: 2 }, { trustProxy: true });
    const victim = `victim_${randomUUID().slice(0, 8)}`;
    expect((await login(gateway.url, victim, { status: 200, from: clientAddress() })).status).toBe(200);
    expect((await login(gateway.url, victim, { from: clientAddress() })).status).toBe(401);
    expect((await login(gateway.url, victim.toUpperCase(), { from: clientAddress() })).status).toBe(401);
    const before = users.requests.length;
    await expectRateLimited(await login(gateway.url, victim, { from: clientAddress() }), 2);
    // The refused attempt never reached the user service (no password check, no timing signal).
    expect(users.requests.length).toBe(before);
    expect((await login(gateway.url, `other_${victim}`, { from: clientAddress() })).status).toBe(401);
  });

  test('registrations are limited per client, also through a path spelled differently', async () => {
    const gateway = await gatewayWith({ registerPerMinute: 2 });
    const register = (path: string) =>
      fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"a","password":"b"}' });
    expect((await register('/users/register')).status).toBe(200);
    expect((await register('/users/register/?x=1')).status).toBe(200);
    await expectRateLimited(await register('/users/%72egister'), 2);
    expect((await register('/users/login')).status).toBe(200);
  });
});

async function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(6379, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const hasRedis = await redisReachable();
if (!hasRedis && process.env.CI === 'true') throw new Error('CI=true but no Redis listens on 127.0.0.1:6379: the Redis rate-limit tests must run in CI');
if (!hasRedis) console.warn('skipping the Redis rate-limit tests: no Redis on 127.0.0.1:6379');

describe.runIf(hasRedis)('rate limits with Redis', () => {
  test('two gateway replicas share one count', async () => {
    const [a, b] = await Promise.all([
      gatewayWith({ perMinute: 4 }, { trustProxy: true, redisUrl: REDIS_URL }),
      gatewayWith({ perMinute: 4 }, { trustProxy: true, redisUrl: REDIS_URL }),
    ]);
    const client = clientAddress();
    const from = { headers: { 'x-forwarded-for': client } };
    // ioredis connects in the background: wait until the counter is in Redis, then count.
    const redis = new Redis(REDIS_URL);
    try {
      await expect.poll(async () => (await fetch(`${a.url}/healthz`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await fetch(`${a.url}/products`, from)).status).toBe(200);
      expect((await fetch(`${b.url}/products`, from)).status).toBe(200);
      expect((await fetch(`${a.url}/products`, from)).status).toBe(200);
      expect((await fetch(`${b.url}/products`, from)).status).toBe(200);
      await expectRateLimited(await fetch(`${a.url}/products`, from), 4);
      await expectRateLimited(await fetch(`${b.url}/products`, from), 4);
      expect(Number(await redis.get(`${REDIS_KEY_PREFIX}client:${client}`))).toBe(6);
    } finally {
      redis.disconnect();
    }
  });
});

describe('rate limits while Redis is unreachable', () => {
  test('requests are answered (never a 500), limits hold in this replica, and the outage is logged once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const app = await buildApp({
      logger,
      upstreams: { users: [users.url], products: [products.url], orders: [orders.url] },
      rateLimits: { ...NO_RATE_LIMITS, perMinute: 3 },
      redisUrl: (await deadUrl()).replace('http://', 'redis://'),
    });
    gateways.push({ app });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/products`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(lines.filter((line) => line.includes('Redis is unavailable'))).toHaveLength(1);
  });
});
