import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App } from '@mini/shared';
import { deadUrl, startAppStub, startGateway, startTcpStub, jsonOf } from './stubs.js';

// Upstreams built on createApp, each with a database check the test can switch off.
const databaseUp = { users: true, products: true, orders: true };
const stubs: { app: App; url: string }[] = [];
let urls: { users: string; products: string; orders: string };

beforeAll(async () => {
  for (const name of ['users', 'products', 'orders'] as const) {
    stubs.push(
      await startAppStub(`${name}-stub`, () => {}, {
        database: async () => {
          if (!databaseUp[name]) throw new Error('database down');
        },
      }),
    );
  }
  urls = { users: stubs[0]!.url, products: stubs[1]!.url, orders: stubs[2]!.url };
});

afterAll(async () => {
  await Promise.all(stubs.map((stub) => stub.app.close()));
});

async function withGateway(
  upstreams: { users: string; products: string; orders: string },
  run: (url: string) => Promise<void>,
  probeTimeoutMs = 1_000,
) {
  const gateway = await startGateway({
    upstreams: { users: [upstreams.users], products: [upstreams.products], orders: [upstreams.orders] },
    probeTimeoutMs,
  });
  try {
    await run(gateway.url);
  } finally {
    await gateway.app.close();
  }
}

describe('GET /readyz', () => {
  test('every upstream ready: 200 listing each one', async () => {
    await withGateway(urls, async (url) => {
      const res = await fetch(`${url}/readyz`);
      expect(res.status).toBe(200);
      expect(await jsonOf(res)).toEqual({
        service: 'gateway',
        status: 'ready',
        checks: { 'user-service': 'ok', 'product-service': 'ok', 'order-service': 'ok' },
      });
    });
  });

  test('an upstream not ready (its database is down): 503 envelope naming it', async () => {
    databaseUp.products = false;
    try {
      await withGateway(urls, async (url) => {
        const res = await fetch(`${url}/readyz`);
        expect(res.status).toBe(503);
        const body = await jsonOf(res);
        expect(body.error).toMatchObject({ code: 'service_unavailable', message: 'not ready: product-service down' });
        expect(body.error.details).toEqual([{ path: 'product-service', message: 'down' }]);
      });
    } finally {
      databaseUp.products = true;
    }
  });

  test('upstreams refusing connections or hanging: 503 naming each, quickly', async () => {
    const silent = await startTcpStub(() => {}); // accepts, never answers
    try {
      await withGateway(
        { users: urls.users, products: await deadUrl(), orders: silent.url },
        async (url) => {
          const started = performance.now();
          const res = await fetch(`${url}/readyz`);
          expect(res.status).toBe(503);
          expect((await jsonOf(res)).error.message).toBe('not ready: product-service, order-service down');
          expect(performance.now() - started).toBeLessThan(1_500);
        },
        300,
      );
    } finally {
      await silent.close();
    }
  });

  test('GET /healthz is the gateway alone: 200 even with every upstream down', async () => {
    const dead = await deadUrl();
    await withGateway({ users: dead, products: dead, orders: dead }, async (url) => {
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      expect(await jsonOf(res)).toMatchObject({ service: 'gateway', status: 'ok', uptime: expect.any(Number) });
      expect((await fetch(`${url}/readyz`)).status).toBe(503);
    });
  });
});
