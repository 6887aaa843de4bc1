import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client, startE2EStack, type E2EStack } from '../stack-fixture.js';

// The services keep no state in memory (sessions, keys, caches that matter), so two
// instances of each against the same databases behave as one. The gateway balances
// round-robin over both; the logs show every instance served part of the journey.
let stack: E2EStack;
const api = client(() => stack.gatewayUrl);

beforeAll(async () => {
  stack = await startE2EStack({ replicas: 2, logLevel: 'info' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function servedRequests(service: string, instance: number): number {
  return stack.local!.logs.filter(
    (line) => line.startsWith(`[${service}#${instance}]`) && line.includes('"request completed"') && !line.includes('"/readyz"'),
  ).length;
}

describe.runIf(!process.env.E2E_GATEWAY_URL)('two instances of every service', () => {
  test('the journey passes with requests spread over both instances of each service', async () => {
    const admin = (await api.post('/users/login', stack.admin)).body.token as string;
    for (let round = 0; round < 4; round++) {
      const username = `replica_${randomUUID().slice(0, 8)}`;
      const registered = await api.post('/users/register', { username, password: 'correct horse battery' });
      expect(registered.status, registered.text).toBe(201);
      const token = registered.body.token as string;
      // A token signed by one user-service instance verifies on the other: the key lives in user_db.
      expect((await api.get('/users/me', { token })).status).toBe(200);
      expect((await api.get('/users/me', { token })).status).toBe(200);

      const product = await api.post(
        '/products',
        { name: `Replica Kettle ${username}`, description: 'x', price: 3.5, stock: 5 },
        { token: admin },
      );
      expect(product.status, product.text).toBe(201);
      expect((await api.get(`/products/${product.body.product.id}`)).status).toBe(200);

      const order = await api.post('/orders', { productId: product.body.product.id, quantity: 2 }, { token });
      expect(order.status, order.text).toBe(201);
      const mine = await api.get('/orders', { token });
      expect(mine.body.orders.map((o: { id: string }) => o.id)).toEqual([order.body.order.id]);
      expect((await api.get(`/orders/${order.body.order.id}`, { token })).status).toBe(200);
    }
    for (const service of ['user', 'product', 'order']) {
      for (const instance of [0, 1]) {
        expect(servedRequests(service, instance), `${service}#${instance}`).toBeGreaterThan(0);
      }
    }
  }, 60_000);
});
