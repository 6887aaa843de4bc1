/**
 * The order saga through the gateway, on both brokers: stock is reserved by events and never
 * oversold, whatever the concurrency, duplicates, crashes and outages. Every check counts effects
 * (orders by status, stock, reservations), never log lines.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { client, eventually, natsAvailable, settled, startE2EStack, type E2EEventBus, type E2EStack } from '../stack-fixture.js';

const hasNats = await natsAvailable();
if (!hasNats && process.env.CI !== 'true') console.warn('saga.test.ts: no NATS server on 127.0.0.1:4222, so the NATS half is skipped');
const buses: E2EEventBus[] = ['pg', ...(hasNats || process.env.CI === 'true' ? (['nats'] as const) : [])];

type Api = ReturnType<typeof client>;
type Order = { id: string; status: string; reason?: unknown; items: { productId: string; quantity: number }[] };

describe.runIf(!process.env.E2E_GATEWAY_URL).each(buses)('the order saga over %s', (bus) => {
  let stack: E2EStack;
  let productDb: pg.Pool;
  let orderDb: pg.Pool;
  let admin: string;
  const api: Api = client(() => stack.gatewayUrl);

  beforeAll(async () => {
    stack = await startE2EStack({ eventBus: bus, brokerProxy: true });
    productDb = new pg.Pool({ connectionString: stack.local!.databaseUrls.product, max: 2 });
    orderDb = new pg.Pool({ connectionString: stack.local!.databaseUrls.order, max: 2 });
    admin = (await api.post('/users/login', stack.admin)).body.token;
  }, 120_000);

  afterAll(async () => {
    await productDb?.end();
    await orderDb?.end();
    await stack?.stop();
  });

  async function shoppers(count: number): Promise<string[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const res = await api.post('/users/register', { username: `saga_${randomUUID().slice(0, 8)}`, password: 'correct horse battery' });
        expect(res.status, res.text).toBe(201);
        return res.body.token as string;
      }),
    );
  }

  async function product(stock: number): Promise<string> {
    const res = await api.post(
      '/products',
      { name: `Saga ${randomUUID().slice(0, 8)}`, description: '', price: 5, stock },
      { token: admin },
    );
    expect(res.status, res.text).toBe(201);
    return res.body.product.id;
  }

  // Asked fresh: the gateway may otherwise answer a catalog read from its cache (up to 1 s old).
  const stockOf = async (id: string): Promise<number> =>
    (await api.get(`/products/${id}`, { headers: { 'cache-control': 'no-cache' } })).body.product.stock;

  /** Places every order at once; returns the accepted ones (201) with their owner's token. */
  async function placeAll(orders: { token: string; items: { productId: string; quantity: number }[] }[], { serviceDown = false } = {}) {
    const answers = await Promise.all(orders.map(({ token, items }) => api.post('/orders', { items }, { token })));
    const expected = serviceDown ? [201, 409, 502, 503] : [201, 409];
    for (const answer of answers) expect(expected, answer.text).toContain(answer.status);
    return answers.flatMap((answer, i) => (answer.status === 201 ? [{ token: orders[i]!.token, order: answer.body.order as Order }] : []));
  }

  const settleAll = (placed: { token: string; order: Order }[]) =>
    Promise.all(placed.map(({ token, order }) => settled(api, order.id, token, 30_000)));

  /** Units of `productId` held by confirmed orders. */
  const confirmedUnits = (orders: Order[], productId: string) =>
    orders
      .filter((order) => order.status === 'confirmed')
      .flatMap((order) => order.items)
      .filter((line) => line.productId === productId)
      .reduce((sum, line) => sum + line.quantity, 0);

  /** What the product database holds for these orders: one reservation row each, by status. */
  async function reservations(orderIds: string[]) {
    const { rows } = await productDb.query<{ status: string; count: number }>(
      'SELECT status, count(*)::int AS count FROM stock_reservations WHERE order_id = ANY($1::uuid[]) GROUP BY status',
      [orderIds],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  test('stock K, many times K concurrent orders from several users, lines overlapping: never oversold', async () => {
    const [a, b] = [await product(5), await product(5)];
    const users = await shoppers(4);
    const orders = [
      ...Array.from({ length: 20 }, (_, i) => ({ token: users[i % 4]!, items: [{ productId: a, quantity: 1 }] })),
      ...Array.from({ length: 20 }, (_, i) => ({ token: users[i % 4]!, items: [{ productId: b, quantity: 1 }] })),
      ...Array.from({ length: 10 }, (_, i) => ({
        token: users[i % 4]!,
        items: [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 1 },
        ],
      })),
    ];
    const placed = await placeAll(orders);
    const final = await settleAll(placed);

    expect(final.every((order) => order.status === 'confirmed' || order.status === 'rejected')).toBe(true);
    expect(confirmedUnits(final, a)).toBe(5);
    expect(confirmedUnits(final, b)).toBe(5);
    expect([await stockOf(a), await stockOf(b)]).toEqual([0, 0]);
    for (const rejected of final.filter((order) => order.status === 'rejected')) {
      expect(rejected.reason).toMatchObject({
        code: 'out_of_stock',
        lines: expect.arrayContaining([expect.objectContaining({ available: 0 })]),
      });
    }
    const ids = final.map((order) => order.id);
    const rows = await reservations(ids);
    expect((rows.reserved ?? 0) + (rows.rejected ?? 0)).toBe(ids.length);
  }, 90_000);

  test('every event sent again (the outboxes replayed, as after a relay crash): nothing changes', async () => {
    const p = await product(3);
    const [user] = await shoppers(1);
    const placed = await placeAll(Array.from({ length: 5 }, () => ({ token: user!, items: [{ productId: p, quantity: 1 }] })));
    const before = await settleAll(placed);
    const cancelled = before.find((order) => order.status === 'confirmed')!;
    expect((await api.post(`/orders/${cancelled.id}/cancel`, undefined, { token: user })).status).toBe(200);
    await eventually(async () => expect(await stockOf(p)).toBe(1));
    const ids = before.map((order) => order.id);
    const booked = await reservations(ids);

    // Forget that anything was published: both relays send every event again.
    await orderDb.query('UPDATE outbox SET published_at = NULL');
    await productDb.query('UPDATE outbox SET published_at = NULL');
    await eventually(async () => {
      const pending = await Promise.all([orderDb, productDb].map((db) => db.query('SELECT 1 FROM outbox WHERE published_at IS NULL')));
      expect(pending.map((result) => result.rowCount)).toEqual([0, 0]);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // time for the re-sent events to be consumed

    expect(await stockOf(p)).toBe(1);
    expect(await reservations(ids)).toEqual(booked);
    const after = await Promise.all(ids.map(async (id) => (await api.get(`/orders/${id}`, { token: user })).body.order.status));
    expect(after).toEqual(before.map((order) => (order.id === cancelled.id ? 'cancelled' : order.status)));
  }, 60_000);

  test.each(['product', 'order'] as const)(
    'the %s service killed mid-stream (SIGKILL) and restarted: no event lost, none applied twice',
    async (service) => {
      const p = await product(10);
      const users = await shoppers(3);
      const orders = Array.from({ length: 30 }, (_, i) => ({ token: users[i % 3]!, items: [{ productId: p, quantity: 1 }] }));
      const placing = placeAll(orders.slice(0, 15), { serviceDown: true });
      // Kill it while the first half is in flight; the second half is placed once it is back.
      await new Promise((resolve) => setTimeout(resolve, 30));
      await stack.local!.stack.stopService(service, 'SIGKILL');
      await placing;
      await stack.local!.stack.startService(service);
      await placeAll(orders.slice(15));
      // Every order stored, whatever its client was told (a killed order service may have stored
      // one whose answer never left): each user's list, every entry settled.
      const stored = (
        await Promise.all(
          users.map(async (token) =>
            ((await api.get('/orders?limit=100', { token })).body.orders as Order[]).map((order) => ({ token, order })),
          ),
        )
      ).flat();
      const final = await settleAll(stored);

      // Not every order is stored: once the stock is gone, the synchronous check answers 409. That
      // only happens after 10 units were reserved, so at least 10 orders exist.
      expect(final.length).toBeGreaterThanOrEqual(10);
      expect(confirmedUnits(final, p)).toBe(Math.min(10, final.length));
      expect(await stockOf(p)).toBe(10 - confirmedUnits(final, p));
      const rows = await reservations(final.map((order) => order.id));
      expect(rows.reserved).toBe(confirmedUnits(final, p));
      expect((rows.reserved ?? 0) + (rows.rejected ?? 0)).toBe(final.length);
    },
    120_000,
  );

  test('the product service stopped after orders are placed: they stay pending, and settle once it is back', async () => {
    const p = await product(2);
    const [user] = await shoppers(1);
    // Cut the broker first so the orders are certainly still pending when the product service stops.
    await stack.local!.brokerProxy!.cut();
    const placed = await placeAll(Array.from({ length: 3 }, () => ({ token: user!, items: [{ productId: p, quantity: 1 }] })));
    expect(placed).toHaveLength(3);
    await stack.local!.stack.stopService('product');
    await stack.local!.brokerProxy!.restore();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const { order } of placed) expect((await api.get(`/orders/${order.id}`, { token: user })).body.order.status).toBe('pending');

    await stack.local!.stack.startService('product');
    const final = await settleAll(placed);
    expect(final.map((order) => order.status).sort()).toEqual(['confirmed', 'confirmed', 'rejected']);
    expect(await stockOf(p)).toBe(0);
  }, 90_000);

  test('the broker cut off for a while: orders still answer 201 pending; a cancelled one keeps no stock; all settle once it returns', async () => {
    const p = await product(5);
    const [user] = await shoppers(1);
    await stack.local!.brokerProxy!.cut();
    try {
      const placed = await placeAll(Array.from({ length: 4 }, () => ({ token: user!, items: [{ productId: p, quantity: 1 }] })));
      expect(placed.map(({ order }) => order.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
      // Cancelled before its reservation could land.
      const early = placed[0]!.order;
      expect((await api.post(`/orders/${early.id}/cancel`, undefined, { token: user })).body.order.status).toBe('cancelled');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await stockOf(p)).toBe(5);
      // The services say the broker is away, but stay in rotation: orders still land in the outbox.
      for (const service of ['order', 'product'] as const) {
        const ready = await fetch(`${stack.local!.stack.urls[service]}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ status: 'degraded', checks: { database: 'ok', events: 'down' } });
      }
    } finally {
      await stack.local!.brokerProxy!.restore();
    }
    const mine = (await api.get(`/orders?limit=100`, { token: user })).body.orders as Order[];
    const final = await Promise.all(mine.map((order) => settled(api, order.id, user!, 30_000)));
    expect(final.map((order) => order.status).sort()).toEqual(['cancelled', 'confirmed', 'confirmed', 'confirmed']);
    await eventually(async () => expect(await stockOf(p)).toBe(2), 30_000);
  }, 90_000);
});
