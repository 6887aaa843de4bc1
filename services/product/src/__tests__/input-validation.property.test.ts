/**
 * Property tests of the product service's input validation: whatever body or query arrives, the
 * answer is never a 5xx and every 4xx is the error envelope; valid generated inputs are accepted
 * and stored as sent (prices rounded half-up to cents on their decimal digits).
 * A fixed seed (FC_SEED to change it) keeps every run the same; fast-check prints it on failure.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App } from '@mini/shared';
import { anyBody, anyPathSegment, anyQuery, expectDefended, fuzzRuns } from '../../../../packages/shared/src/__tests__/input-fuzz.js';
import { startProductApp, uniqueToken } from './helpers.js';

let app: App;
let close: () => Promise<void>;
let admin: Record<string, string>;

beforeAll(async () => {
  let issuer;
  ({ app, close, issuer } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
});
afterAll(async () => close());

function send(method: InjectOptions['method'], url: string, payload: string) {
  return app.inject({ method, url, payload, headers: { 'content-type': 'application/json', ...admin } });
}

const noNul = (text: string) => !text.includes('\u0000');
// One code point per unit, as the schema counts lengths; not blank once trimmed (the service trims names).
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((text) => noNul(text) && text.trim() !== '');
const description = fc.string({ unit: 'binary', maxLength: 2000 }).filter(noNul);

/** A price as a client may send it, with the cents it must be stored as (worked out here, not by the service). */
const price: fc.Arbitrary<{ input: number | string; cents: number }> = fc.oneof(
  // A JSON number with up to 3 decimals (thousandths up to 1,000,000.004): rounds half-up on the third.
  fc.integer({ min: 0, max: 1_000_000_004 }).map((thousandths) => ({
    input: thousandths / 1000,
    cents: Math.floor(thousandths / 10) + (thousandths % 10 >= 5 ? 1 : 0),
  })),
  // A numeric string with any number of decimals and blanks around it.
  fc
    .tuple(
      fc.integer({ min: 0, max: 999_999 }),
      fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 12 }),
      fc.constantFrom('', ' ', '  '),
    )
    .map(([whole, fraction, pad]) => {
      const digits = fraction.padEnd(3, '0');
      const cents = whole * 100 + Number(digits.slice(0, 2)) + (Number(digits[2]) >= 5 ? 1 : 0);
      return { input: `${pad}${whole}${fraction ? `.${fraction}` : ''}${pad}`, cents };
    }),
);

const stock = fc.integer({ min: 0, max: 1_000_000 });

const validCreate = fc.record(
  { name, description, price: price.map((p) => p.input), stock },
  { requiredKeys: ['name', 'description', 'price'] },
);

async function createProduct(): Promise<{ id: string; stock: number }> {
  const res = await send('POST', '/products', JSON.stringify({ name: `Fuzz ${uniqueToken()}`, description: '', price: 1, stock: 5 }));
  expect(res.statusCode, res.body).toBe(201);
  return res.json().product;
}

describe('POST /products (admin)', () => {
  test('any body: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody(validCreate), async (payload) => {
        expectDefended(await send('POST', '/products', payload), payload);
      }),
      fuzzRuns(200),
    );
  });

  test('valid bodies: 201, stored as sent, the price in cents rounded half-up', async () => {
    await fc.assert(
      fc.asyncProperty(name, description, price, fc.option(stock, { nil: undefined }), async (title, text, amount, units) => {
        const body = { name: title, description: text, price: amount.input, ...(units === undefined ? {} : { stock: units }) };
        const res = await send('POST', '/products', JSON.stringify(body));
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().product).toMatchObject({ name: title.trim(), description: text, price: amount.cents / 100, stock: units ?? 0 });
      }),
      fuzzRuns(150),
    );
  });
});

describe('PATCH /products/:id (admin)', () => {
  const validPatch = fc.record(
    { name, description, price: price.map((p) => p.input), stockDelta: fc.integer({ min: 0, max: 1_000 }) },
    { requiredKeys: [] },
  );

  test('any body: never a 5xx, every 4xx the envelope', async () => {
    const product = await createProduct();
    await fc.assert(
      fc.asyncProperty(anyBody(validPatch), async (payload) => {
        expectDefended(await send('PATCH', `/products/${product.id}`, payload), payload);
      }),
      fuzzRuns(200),
    );
  });

  test('any id in the path: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyPathSegment, async (segment) => {
        expectDefended(await send('PATCH', `/products/${segment}`, '{"description":"x"}'), segment);
        expectDefended(await app.inject({ method: 'GET', url: `/products/${segment}` }), segment);
      }),
      fuzzRuns(100),
    );
  });

  test('valid partial bodies: 200 and exactly the fields sent change', async () => {
    const product = await createProduct();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ name, description, price, stockDelta: fc.integer({ min: 0, max: 1_000 }) }, { requiredKeys: [] }),
        async (change) => {
          const before = (await app.inject({ method: 'GET', url: `/products/${product.id}` })).json().product;
          const body = { ...change, ...(change.price ? { price: change.price.input } : {}) };
          const res = await send('PATCH', `/products/${product.id}`, JSON.stringify(body));
          if (Object.keys(body).length === 0) {
            // Nothing to change is the one valid-looking body refused.
            expect(res.statusCode, res.body).toBe(400);
            return;
          }
          expect(res.statusCode, res.body).toBe(200);
          expect(res.json().product).toMatchObject({
            name: change.name === undefined ? before.name : change.name.trim(),
            description: change.description ?? before.description,
            price: change.price === undefined ? before.price : change.price.cents / 100,
            stock: before.stock + (change.stockDelta ?? 0),
          });
        },
      ),
      fuzzRuns(100),
    );
  });
});

describe('GET /products', () => {
  const uuid = fc.uuid();
  // Cursors that look like this service's own: base64url of "<instant>~<uuid>", with edge-of-calendar instants.
  const instant = fc.oneof(
    fc.constantFrom(
      '0000-01-01T00:00:00.000000Z',
      '0001-01-01T00:00:00.000000Z',
      '9999-12-31T23:59:59.999999Z',
      '2026-02-30T00:00:00.000000Z',
      '2026-01-01T24:00:00.000000Z',
      '2026-13-01T00:00:00.000000Z',
    ),
    fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 999_999 }),
      )
      .map(([y, m, d, h, us]) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(h, 2)}:00:00.${pad(us, 6)}Z`),
  );
  const cursor = fc.tuple(instant, uuid).map(([at, id]) => Buffer.from(`${at}~${id}`).toString('base64url'));
  const plausible = fc.oneof(
    fc.integer({ min: -5, max: 200 }).map(String),
    fc.array(uuid, { minLength: 1, maxLength: 3 }).map((ids) => ids.join(',')),
    cursor,
    fc.string({ maxLength: 8 }),
  );

  test('any query: never a 5xx, every 4xx the envelope', async () => {
    await createProduct();
    await fc.assert(
      fc.asyncProperty(anyQuery(['limit', 'offset', 'q', 'ids', 'after'], plausible), async (query) => {
        expectDefended(await app.inject({ method: 'GET', url: `/products?${query}` }), query);
      }),
      fuzzRuns(200),
    );
  });

  // Found by this file: `after` naming the year 0000 (a valid JavaScript date, which PostgreSQL has
  // no year for) was a 500 from the database.
  test('any cursor-looking `after`: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(cursor, async (after) => {
        expectDefended(await app.inject({ method: 'GET', url: `/products?after=${after}` }), after);
      }),
      fuzzRuns(150),
    );
  });

  test('valid queries: 200 with the page asked for', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            limit: fc.integer({ min: 1, max: 100 }),
            offset: fc.integer({ min: 0, max: 2_147_483_647 }),
            q: fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }).filter(noNul),
            ids: fc.array(uuid, { minLength: 1, maxLength: 100 }).map((ids) => ids.join(',')),
          },
          { requiredKeys: [] },
        ),
        async (query) => {
          const search = new URLSearchParams(Object.entries(query).map(([key, value]): [string, string] => [key, String(value)]));
          const res = await app.inject({ method: 'GET', url: `/products?${search.toString()}` });
          expect(res.statusCode, res.body).toBe(200);
          expect(res.json()).toMatchObject({
            products: expect.any(Array),
            offset: query.offset ?? 0,
            limit: query.limit ?? (query.ids ? 100 : 20),
          });
        },
      ),
      fuzzRuns(150),
    );
  });
});

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
