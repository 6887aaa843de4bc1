import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createLogger, type App, type Pool } from '@mini/shared';
import { createMemoryBus } from '@mini/shared/testing';
import { startProductEvents } from '../events.js';
import { startProductApp } from './helpers.js';

// The product service's consumers on a real database, fed by a bus that delivers EVERY event
// twice at once: each effect must still happen exactly once.
let app: App;
let pool: Pool;
let close: () => Promise<void>;
let admin: Record<string, string>;
const bus = createMemoryBus({ deliveries: 2 });
let events: { close(): Promise<void> };

beforeAll(async () => {
  let issuer;
  ({ app, pool, issuer, close } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
  events = await startProductEvents({ pool, bus, logger: createLogger('product-service', { level: 'silent' }) });
});
afterAll(async () => {
  await events.close();
  await close();
});

async function product(stock: number): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/products',
    headers: admin,
    payload: { name: `P ${randomUUID()}`, description: '', price: 1, stock },
  });
  return res.json().product.id;
}

const stockOf = async (id: string) =>
  (await pool.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [id])).rows[0]?.stock;

function send(type: string, payload: unknown) {
  return bus.publish({ id: randomUUID(), type, occurredAt: new Date().toISOString(), payload });
}

/** The answers the product service published for an order, once its relay has sent them. */
async function answersFor(orderId: string, count = 1) {
  return vi.waitFor(
    () => {
      const found = bus.published.filter(
        (event) => (event.payload as { orderId?: string }).orderId === orderId && event.type.startsWith('stock.'),
      );
      if (found.length < count) throw new Error(`${found.length} answers for ${orderId}`);
      return found;
    },
    { timeout: 5_000, interval: 20 },
  );
}

async function reservationOf(orderId: string) {
  const { rows } = await pool.query('SELECT status, lines FROM stock_reservations WHERE order_id = $1', [orderId]);
  return rows;
}

describe('order.placed, delivered twice', () => {
  test('when every line is in stock, then stock is taken once, one reservation, one stock.reserved', async () => {
    const [a, b] = [await product(5), await product(5)];
    const orderId = randomUUID();
    await send('order.placed', {
      orderId,
      lines: [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 5 },
      ],
    });
    expect((await answersFor(orderId)).map((event) => event.type)).toEqual(['stock.reserved']);
    await bus.idle();
    expect([await stockOf(a), await stockOf(b)]).toEqual([3, 0]);
    expect(await reservationOf(orderId)).toHaveLength(1);
    expect(
      bus.published.filter((event) => (event.payload as { orderId?: string }).orderId === orderId && event.type.startsWith('stock.')),
    ).toHaveLength(1);
  });

  test('when one line is short, then nothing is taken (all or none) and stock.rejected names the short line', async () => {
    const [a, b] = [await product(5), await product(1)];
    const orderId = randomUUID();
    await send('order.placed', {
      orderId,
      lines: [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 2 },
      ],
    });
    const [answer] = await answersFor(orderId);
    expect(answer).toMatchObject({
      type: 'stock.rejected',
      payload: { orderId, reason: { code: 'out_of_stock', lines: [{ productId: b, requested: 2, available: 1 }] } },
    });
    expect([await stockOf(a), await stockOf(b)]).toEqual([5, 1]);
  });

  test('when two lines name one product, then they are summed against its stock', async () => {
    const a = await product(4);
    const orderId = randomUUID();
    await send('order.placed', {
      orderId,
      lines: [
        { productId: a, quantity: 2 },
        { productId: a, quantity: 3 },
      ],
    });
    const [answer] = await answersFor(orderId);
    expect(answer!.payload).toMatchObject({ reason: { code: 'out_of_stock', lines: [{ productId: a, requested: 5, available: 4 }] } });
    expect(await stockOf(a)).toBe(4);
  });

  test('when a product no longer exists, then stock.rejected product_unavailable', async () => {
    const a = await product(4);
    const gone = randomUUID();
    const orderId = randomUUID();
    await send('order.placed', {
      orderId,
      lines: [
        { productId: a, quantity: 1 },
        { productId: gone, quantity: 1 },
      ],
    });
    const [answer] = await answersFor(orderId);
    expect(answer!.payload).toMatchObject({ reason: { code: 'product_unavailable', productIds: [gone] } });
    expect(await stockOf(a)).toBe(4);
  });

  test('when the payload is unreadable, then it is skipped: no reservation, no answer', async () => {
    const orderId = randomUUID();
    await send('order.placed', { orderId, lines: 'all of them' });
    await bus.idle();
    expect(await reservationOf(orderId)).toEqual([]);
  });
});

describe('order.cancelled, delivered twice', () => {
  test('when the order was reserved, then its stock comes back exactly once', async () => {
    const a = await product(5);
    const orderId = randomUUID();
    await send('order.placed', { orderId, lines: [{ productId: a, quantity: 3 }] });
    await answersFor(orderId);
    await bus.idle();
    expect(await stockOf(a)).toBe(2);
    await send('order.cancelled', { orderId });
    await send('order.cancelled', { orderId }); // a second cancellation event, not just a redelivery
    await bus.idle();
    expect(await stockOf(a)).toBe(5);
    expect(await reservationOf(orderId)).toEqual([{ status: 'released', lines: [{ productId: a, quantity: 3 }] }]);
  });

  test('when the cancellation arrives before the order, then the order reserves nothing when it comes', async () => {
    const a = await product(5);
    const orderId = randomUUID();
    await send('order.cancelled', { orderId });
    await bus.idle();
    await send('order.placed', { orderId, lines: [{ productId: a, quantity: 3 }] });
    await bus.idle();
    expect(await stockOf(a)).toBe(5);
    expect(await reservationOf(orderId)).toEqual([{ status: 'cancelled', lines: [] }]);
  });
});

describe('an admin stock edit beside reservations', () => {
  test('when 20 reservations and 20 stock deltas race, then none is lost', async () => {
    const a = await product(40);
    const orders = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all([
      ...orders.map((orderId) => send('order.placed', { orderId, lines: [{ productId: a, quantity: 1 }] })),
      ...orders.map(() => app.inject({ method: 'PATCH', url: `/products/${a}`, headers: admin, payload: { stockDelta: 2 } })),
    ]);
    await Promise.all(orders.map((orderId) => answersFor(orderId)));
    await bus.idle();
    expect(await stockOf(a)).toBe(40 - 20 + 40);
  });
});
