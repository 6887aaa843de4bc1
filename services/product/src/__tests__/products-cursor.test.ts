import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { SEARCH_COUNT_LIMIT } from '../catalog-paging.js';
import { startProductApp, uniqueToken } from './helpers.js';

// Keyset pagination and what `total` promises, through the HTTP interface.
let app: App;
let pool: Pool;
let close: () => Promise<void>;
let admin: Record<string, string>;

beforeAll(async () => {
  let issuer;
  ({ app, pool, issuer, close } = await startProductApp());
  admin = (await issuer.signIn('admin')).headers;
});
afterAll(async () => close());

const list = async (query: string) => {
  const res = await app.inject({ method: 'GET', url: `/products?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

/** `count` products named `<token> <n>`, all created by one statement (so they share one created_at). */
async function insertMany(token: string, count: number, sameInstant = true): Promise<string[]> {
  const createdAt = sameInstant ? 'now()' : "clock_timestamp() + n * interval '1 microsecond'";
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO products (name, description, price_cents, created_at)
     SELECT $1 || ' ' || n, '', 100, ${createdAt} FROM generate_series(1, $2::int) AS n RETURNING id, created_at`,
    [token, count],
  );
  const sorted = await pool.query<{ id: string }>('SELECT id FROM products WHERE id = ANY($1::uuid[]) ORDER BY created_at, id', [
    rows.map((row) => row.id),
  ]);
  return sorted.rows.map((row) => row.id);
}

/** Every page of `query`, following nextCursor; the ids in the order they came. */
async function walk(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let after: string | undefined;
  do {
    const page = await list(`${query}&limit=${limit}${after ? `&after=${after}` : ''}`);
    pages += 1;
    ids.push(...page.products.map((p: { id: string }) => p.id));
    after = page.nextCursor;
    expect(pages).toBeLessThan(100);
  } while (after);
  return { ids, pages };
}

describe('GET /products?after= (keyset pagination)', () => {
  test('when a search is walked page by page with nextCursor, then every match comes once, in the offset order', async () => {
    const token = uniqueToken();
    const ids = await insertMany(token, 7, false);
    const { ids: walked, pages } = await walk(`q=${token}`, 3);
    expect(walked).toEqual(ids);
    expect(pages).toBe(3);
    const byOffset = [0, 3, 6].map((offset) => list(`q=${token}&limit=3&offset=${offset}`));
    expect((await Promise.all(byOffset)).flatMap((page) => page.products.map((p: { id: string }) => p.id))).toEqual(ids);
  });

  test('when products share one creation instant, then the id breaks the tie and a page of one still moves on', async () => {
    const token = uniqueToken();
    const ids = await insertMany(token, 5);
    expect((await walk(`q=${token}`, 1)).ids).toEqual(ids);
  });

  test('when the page is the last one, then it has no nextCursor; a full page before it has one', async () => {
    const token = uniqueToken();
    await insertMany(token, 4, false);
    const first = await list(`q=${token}&limit=2`);
    expect(first).toMatchObject({ total: 4, limit: 2, offset: 0 });
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await list(`q=${token}&limit=2&after=${first.nextCursor}`);
    expect(second.products).toHaveLength(2);
    expect(second).not.toHaveProperty('nextCursor');
    // total counts every match, not only those after the cursor.
    expect(second.total).toBe(4);
  });

  test('when products are added before the cursor meanwhile, then the next page neither repeats nor skips one', async () => {
    const token = uniqueToken();
    const ids = await insertMany(token, 4, false);
    const first = await list(`q=${token}&limit=2`);
    // A product created "earlier" (as a restore or import would) lands before the cursor.
    await pool.query(`INSERT INTO products (name, description, price_cents, created_at) VALUES ($1, '', 1, now() - interval '1 day')`, [
      `${token} early`,
    ]);
    const next = await list(`q=${token}&limit=2&after=${first.nextCursor}`);
    expect(next.products.map((p: { id: string }) => p.id)).toEqual(ids.slice(2, 4));
  });

  test('when after and offset are both given, then offset counts from the cursor', async () => {
    const token = uniqueToken();
    const ids = await insertMany(token, 6, false);
    const first = await list(`q=${token}&limit=2`);
    const page = await list(`q=${token}&limit=2&offset=1&after=${first.nextCursor}`);
    expect(page).toMatchObject({ offset: 1 });
    expect(page.products.map((p: { id: string }) => p.id)).toEqual(ids.slice(3, 5));
  });

  test('when after is past the last product, then an empty page that still tells the total', async () => {
    const token = uniqueToken();
    await insertMany(token, 2, false);
    const first = await list(`q=${token}&limit=1`);
    const last = await list(`q=${token}&limit=1&after=${first.nextCursor}`);
    expect(last.nextCursor).toBeUndefined();
    const lastId = last.products[0].id;
    const { rows } = await pool.query<{ position: string }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position FROM products WHERE id = $1`,
      [lastId],
    );
    const after = Buffer.from(`${rows[0]!.position}~${lastId}`).toString('base64url');
    expect(await list(`q=${token}&limit=1&after=${after}`)).toEqual({ products: [], total: 2, limit: 1, offset: 0 });
  });

  test('when ids are looked up with a cursor, then only the listed products after it come back', async () => {
    const token = uniqueToken();
    const ids = await insertMany(token, 3, false);
    const first = await list(`ids=${ids.join(',')}&limit=1`);
    expect(first).toMatchObject({ total: 3, products: [{ id: ids[0] }] });
    const rest = await list(`ids=${ids.join(',')}&after=${first.nextCursor}`);
    expect(rest.products.map((p: { id: string }) => p.id)).toEqual(ids.slice(1));
  });

  test.each([
    'after=',
    'after=x',
    'after=%2B%2F',
    `after=${Buffer.from('2026-02-30T00:00:00.000000Z~00000000-0000-0000-0000-000000000000').toString('base64url')}`,
  ])('when the query has %j, then 400 validation_error naming after', async (query) => {
    const res = await app.inject({ method: 'GET', url: `/products?${query}` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
    if (query !== 'after=') expect(res.json().error.details).toEqual([expect.objectContaining({ path: 'after' })]);
  });
});

describe('GET /products: total', () => {
  test('when the catalog grows and shrinks, then the unfiltered total follows it exactly', async () => {
    const before = (await list('limit=1')).total;
    const token = uniqueToken();
    const ids = await insertMany(token, 3);
    expect((await list('limit=1')).total).toBe(before + 3);
    const res = await app.inject({ method: 'DELETE', url: `/products/${ids[0]}`, headers: admin });
    expect(res.statusCode).toBe(204);
    expect((await list('limit=1')).total).toBe(before + 2);
    await pool.query('DELETE FROM products WHERE id = ANY($1::uuid[])', [ids.slice(1)]);
    expect((await list('limit=1')).total).toBe(before);
    expect(await list('limit=1')).not.toHaveProperty('totalCapped');
  });

  test(`when a search matches more than ${SEARCH_COUNT_LIMIT} products, then total is ${SEARCH_COUNT_LIMIT} and flagged as capped`, async () => {
    const token = uniqueToken();
    await insertMany(token, SEARCH_COUNT_LIMIT + 5);
    const page = await list(`q=${token}&limit=5`);
    expect(page).toMatchObject({ total: SEARCH_COUNT_LIMIT, totalCapped: true, limit: 5 });
    expect(page.products).toHaveLength(5);
  });

  test(`when a search matches exactly ${SEARCH_COUNT_LIMIT} products, then total is exact and not flagged`, async () => {
    const token = uniqueToken();
    await insertMany(token, SEARCH_COUNT_LIMIT);
    const page = await list(`q=${token}&limit=5`);
    expect(page.total).toBe(SEARCH_COUNT_LIMIT);
    expect(page).not.toHaveProperty('totalCapped');
  });
});
