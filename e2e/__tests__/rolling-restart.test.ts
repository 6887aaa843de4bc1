import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client, startE2EStack, type E2EStack } from '../stack-fixture.js';

// Two instances of every service behind the gateway, restarted one at a time (SIGTERM: drain,
// close, exit; then start and wait until ready) while clients keep reading the catalog, signing
// in and placing orders. Counted: every request answered 2xx, every 201 order stored, no other.
let stack: E2EStack;
const api = client(() => stack.gatewayUrl);

beforeAll(async () => {
  stack = await startE2EStack({ replicas: 2 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface Failure {
  what: string;
  status: number;
  text: string;
}

describe.runIf(!process.env.E2E_GATEWAY_URL)('restarting every replica one at a time under steady load', () => {
  test('no request fails and no order is lost or doubled', async () => {
    const admin = (await api.post('/users/login', stack.admin)).body.token as string;
    const productIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = await api.post('/products', { name: `Rolling ${i} ${randomUUID()}`, description: 'restart me', price: 2.5, stock: 100_000 }, { token: admin });
      expect(created.status, created.text).toBe(201);
      productIds.push(created.body.product.id as string);
    }
    const shopper = { username: `rolling_${randomUUID().slice(0, 8)}`, password: 'correct horse battery' };
    const registered = await api.post('/users/register', shopper);
    expect(registered.status, registered.text).toBe(201);
    const token = registered.body.token as string;

    const failures: Failure[] = [];
    const placed: string[] = [];
    let requests = 0;
    let running = true;
    const check = (what: string, res: { status: number; text: string }, expected: number) => {
      requests++;
      if (res.status !== expected) failures.push({ what, status: res.status, text: res.text.slice(0, 200) });
    };
    const worker = async (n: number) => {
      for (let round = 0; running; round++) {
        const productId = productIds[(n + round) % productIds.length]!;
        check('GET /products', await api.get('/products?limit=20'), 200);
        check('GET /products/:id', await api.get(`/products/${productId}`), 200);
        const order = await api.post('/orders', { productId, quantity: 1 }, { token });
        check('POST /orders', order, 201);
        if (order.status === 201) {
          placed.push(order.body.order.id as string);
          check('GET /orders/:id', await api.get(`/orders/${order.body.order.id}`, { token }), 200);
        }
        if (round % 5 === 0) check('POST /users/login', await api.post('/users/login', shopper), 200);
      }
    };
    const workers = Array.from({ length: 4 }, (_, n) => worker(n));

    const local = stack.local!;
    for (const service of ['product', 'order', 'user', 'gateway'] as const) {
      if (service === 'gateway') continue; // one gateway here: its own restart is the orchestrator's (k8s) job
      for (const instance of [0, 1]) {
        const t0 = Date.now();
        await local.stack.restartInstance(service, instance);
        console.log(`restarted ${service}#${instance} in ${Date.now() - t0} ms; requests ${requests}, failures ${failures.length}`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    running = false;
    await Promise.all(workers);

    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    const db = new pg.Client({ connectionString: local.databaseUrls.order });
    await db.connect();
    try {
      const stored = await db.query<{ id: string }>('SELECT id FROM orders');
      expect(new Set(stored.rows.map((row) => row.id))).toEqual(new Set(placed));
      expect(stored.rows).toHaveLength(placed.length);
    } finally {
      await db.end();
    }
  }, 180_000);
});
