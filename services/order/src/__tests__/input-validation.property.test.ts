/**
 * Property tests of the order service's input validation: whatever body, header or query
 * arrives, the answer is never a 5xx and every 4xx is the error envelope; valid generated orders
 * are accepted as sent. The product service is the usual stub; its products have stock to spare.
 * A fixed seed (FC_SEED to change it) keeps every run the same; fast-check prints it on failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { anyBody, anyPathSegment, anyQuery, expectDefended, fuzzRuns } from '../../../../packages/shared/src/__tests__/input-fuzz.js';
import { setUpOrderService, type OrderTestContext, type StubProduct } from './support.js';

let t: OrderTestContext;
let shopper: Awaited<ReturnType<OrderTestContext['signIn']>>;
// Reads with a few orders of their own: the shopper above ends up with hundreds, which only slows every page.
let reader: Awaited<ReturnType<OrderTestContext['signIn']>>;
let catalog: StubProduct[];

beforeAll(async () => {
  t = await setUpOrderService();
  [shopper, reader] = await Promise.all([t.signIn(), t.signIn()]);
  catalog = Array.from({ length: 60 }, (_, index) => t.stub.add({ price: (100 + index) / 100, stock: 1_000_000 }));
  for (const product of catalog.slice(0, 3)) {
    const res = await place(JSON.stringify({ productId: product.id }), reader.headers);
    expect(res.statusCode, res.body).toBe(201);
  }
});
afterAll(async () => t?.close());

function place(payload: string, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: '/orders',
    payload,
    headers: { 'content-type': 'application/json', ...shopper.headers, ...headers },
  });
}

const productId = fc.nat({ max: 59 }).map((index) => catalog[index]!.id);
const quantity = fc.integer({ min: 1, max: 1_000 });
// The caller's own id may be given, in any case.
const ownId = fc.option(
  fc.boolean().map((upper) => (upper ? shopper.caller.id.toUpperCase() : shopper.caller.id)),
  { nil: undefined },
);

const oneProduct = fc.record({ productId, quantity, userId: ownId }, { requiredKeys: ['productId'] });
const severalProducts = fc.record(
  {
    items: fc.uniqueArray(fc.record({ productId, quantity }), { minLength: 1, maxLength: 50, selector: (line) => line.productId }),
    userId: ownId,
  },
  { requiredKeys: ['items'] },
);
const validOrder = fc.oneof(oneProduct, severalProducts).map(withoutUndefined);

describe('POST /orders', () => {
  test('any body: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody(validOrder), async (payload) => {
        expectDefended(await place(payload), payload);
      }),
      fuzzRuns(200),
    );
  });

  test('any Idempotency-Key: never a 5xx, every 4xx the envelope', async () => {
    const key = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 300 }), fc.uuid());
    await fc.assert(
      fc.asyncProperty(key, async (idempotencyKey) => {
        const payload = JSON.stringify({ productId: catalog[0]!.id });
        expectDefended(await place(payload, { 'idempotency-key': idempotencyKey }), idempotencyKey);
      }),
      fuzzRuns(100),
    );
  });

  test('valid orders: 201, owned by the caller, with the lines as sent and their total', async () => {
    await fc.assert(
      fc.asyncProperty(validOrder, async (body) => {
        const res = await place(JSON.stringify(body));
        expect(res.statusCode, res.body).toBe(201);
        const lines = 'items' in body ? body.items : [{ productId: body.productId, quantity: body.quantity ?? 1 }];
        const { order } = res.json();
        expect(order.userId).toBe(shopper.caller.id);
        expect(order.items.map((line: { productId: string; quantity: number }) => [line.productId, line.quantity])).toEqual(
          lines.map((line) => [line.productId, line.quantity]),
        );
        const cents = lines.reduce((sum, line) => sum + Math.round(t.stub.catalog.get(line.productId)!.price * 100) * line.quantity, 0);
        expect(order.total).toBe(cents / 100);
      }),
      fuzzRuns(100),
    );
  });
});

describe('GET /orders and /orders/:id', () => {
  const plausible = fc.oneof(
    fc.integer({ min: -5, max: 200 }).map(String),
    fc.constantFrom('pending', 'confirmed', 'rejected', 'cancelled', 'PENDING'),
    fc.uuid(),
    fc.constant(''),
  );

  test('any query: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyQuery(['limit', 'offset', 'userId', 'status'], plausible), async (query) => {
        expectDefended(await t.app.inject({ method: 'GET', url: `/orders?${query}`, headers: reader.headers }), query);
      }),
      fuzzRuns(200),
    );
  });

  test('any id in the path: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyPathSegment, async (segment) => {
        expectDefended(await t.app.inject({ method: 'GET', url: `/orders/${segment}`, headers: reader.headers }), segment);
        expectDefended(await t.app.inject({ method: 'POST', url: `/orders/${segment}/cancel`, headers: reader.headers }), segment);
      }),
      fuzzRuns(100),
    );
  });

  test('valid queries: 200 with the page asked for, only the caller’s orders', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            limit: fc.integer({ min: 1, max: 100 }),
            offset: fc.integer({ min: 0, max: 2_147_483_647 }),
            status: fc.constantFrom('pending', 'confirmed', 'rejected', 'cancelled'),
            userId: fc.constant(reader.caller.id),
          },
          { requiredKeys: [] },
        ),
        async (query) => {
          const search = new URLSearchParams(Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]));
          const res = await t.app.inject({ method: 'GET', url: `/orders?${search.toString()}`, headers: reader.headers });
          expect(res.statusCode, res.body).toBe(200);
          const page = res.json();
          expect(page).toMatchObject({ limit: query.limit ?? 20, offset: query.offset ?? 0 });
          // The reader's three orders stay pending here (no saga runs in this test).
          expect(page.total).toBe(query.status === undefined || query.status === 'pending' ? 3 : 0);
          for (const order of page.orders) expect(order.userId).toBe(reader.caller.id);
        },
      ),
      fuzzRuns(100),
    );
  });
});

// fc.record leaves out optional keys it does not pick, but an `undefined` from fc.option stays: drop it.
function withoutUndefined<T extends Record<string, unknown>>(body: T): T {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)) as T;
}
