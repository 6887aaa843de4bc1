import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { createPool, EVENTS_MIGRATIONS, runMigrations, type Pool } from '@mini/shared';
import { createDatabase } from '@mini/shared/testing';
import * as repository from '../repository.js';
import type { Queryable } from '../repository.js';

// The hot catalog queries on a catalog of 100,000 products: each must use an index, read about as
// many rows as it returns, and never sort the whole set. Plans, not timings, are asserted: the
// same query plan costs the same on any machine.
const CATALOG = 100_000;
let pool: Pool;

beforeAll(async () => {
  const databaseUrl = await createDatabase(inject('postgresUrl'), 'product_plans');
  await runMigrations({
    databaseUrl,
    dir: [fileURLToPath(EVENTS_MIGRATIONS), fileURLToPath(new URL('../../migrations', import.meta.url))],
  });
  // Seeding 100,000 rows can take longer than a request's 5 s statement limit on a busy machine.
  pool = createPool(databaseUrl, { max: 2, statementTimeoutMs: 0 });
  // 30 words in 200 combinations: "lamp" matches 5% of names, "oak lamp 123" a handful.
  await pool.query(
    `INSERT INTO products (name, description, price_cents, stock, created_at)
     SELECT (ARRAY['Red','Blue','Green','Black','White','Oak','Steel','Linen','Wool','Glass'])[1 + n % 10] || ' ' ||
            (ARRAY['mug','lamp','chair','table','plate','bowl','shelf','rug','vase','clock','desk','sofa','towel','jar','cup',
                   'knife','spoon','pan','pot','tray'])[1 + (n / 10) % 20] || ' ' || n,
            'seeded', 100 + n % 10000, 1000, timestamptz '2026-01-01' + n * interval '1 second'
     FROM generate_series(1, $1::int) AS n`,
    [CATALOG],
  );
  await pool.query('ANALYZE products');
}, 120_000);
afterAll(async () => pool?.end());

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Sort Key'?: string[];
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** Runs `work` against a recorder, then EXPLAIN ANALYZEs each statement it sent, with its parameters. */
async function plansOf(work: (db: Queryable) => Promise<unknown>): Promise<PlanNode[][]> {
  const sent: { text: string; values: unknown[] }[] = [];
  const recorder = {
    query: (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
      const statement =
        typeof config === 'string' ? { text: config, values: values ?? [] } : { text: config.text, values: config.values ?? [] };
      sent.push(statement);
      return pool.query(statement.text, statement.values);
    },
  } as unknown as Queryable;
  await work(recorder);
  const plans = [];
  for (const { text, values } of sent) {
    const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
    plans.push(nodesOf(rows[0]!['QUERY PLAN'][0].Plan));
  }
  return plans;
}

/** Rows the scans of `products` looked at: returned, filtered out or rechecked away, over every loop. */
function rowsRead(nodes: PlanNode[]): number {
  return nodes
    .filter((node) => node['Relation Name'] === 'products' && /Scan/.test(node['Node Type']) && !/Bitmap Index/.test(node['Node Type']))
    .reduce(
      (sum, node) =>
        sum +
        (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * node['Actual Loops'],
      0,
    );
}

const seqScans = (nodes: PlanNode[]) => nodes.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'products');
const sorts = (nodes: PlanNode[]) => nodes.filter((node) => node['Node Type'] === 'Sort' || node['Node Type'] === 'Incremental Sort');
const indexesUsed = (nodes: PlanNode[]) => nodes.map((node) => node['Index Name']).filter(Boolean);

/** Position `n` (1-based) in the catalog's order, as a cursor. */
async function positionOf(n: number) {
  const { rows } = await pool.query<{ id: string; position: string }>(
    `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position
     FROM products ORDER BY created_at, id OFFSET $1 LIMIT 1`,
    [n - 1],
  );
  return { createdAt: rows[0]!.position, id: rows[0]!.id };
}

describe(`catalog queries on ${CATALOG.toLocaleString('en')} products`, () => {
  test('the first page walks the (created_at, id) index for its 21 rows, and the total comes from the kept count', async () => {
    let page!: repository.ProductPage;
    const [plan] = await plansOf(async (db) => (page = await repository.listProducts(db, {}, { limit: 20, offset: 0 })));
    expect(page.total).toBe(CATALOG);
    expect(page.products).toHaveLength(20);
    expect(indexesUsed(plan!)).toContain('products_created_at_id_idx');
    expect(seqScans(plan!)).toEqual([]);
    expect(sorts(plan!)).toEqual([]);
    expect(rowsRead(plan!)).toBeLessThanOrEqual(21);
  });

  test('a page 4,000 pages deep, by cursor, reads as few rows as the first one', async () => {
    const after = await positionOf(80_000);
    let page!: repository.ProductPage;
    const [plan] = await plansOf(async (db) => (page = await repository.listProducts(db, {}, { limit: 20, offset: 0, after })));
    expect(page.products[0]!.name).toMatch(/ 80001$/);
    expect(indexesUsed(plan!)).toContain('products_created_at_id_idx');
    expect(seqScans(plan!)).toEqual([]);
    expect(sorts(plan!)).toEqual([]);
    expect(rowsRead(plan!)).toBeLessThanOrEqual(21);
  });

  test('the order service lookup by ids reads those rows by primary key, and counts them the same way', async () => {
    const ids = (await pool.query<{ id: string }>('SELECT id FROM products ORDER BY created_at DESC LIMIT 3')).rows.map((r) => r.id);
    let page!: repository.ProductPage;
    const [plan] = await plansOf(async (db) => (page = await repository.listProducts(db, { ids }, { limit: 100, offset: 0 })));
    expect(page.total).toBe(3);
    expect(indexesUsed(plan!).every((name) => name === 'products_pkey')).toBe(true);
    expect(seqScans(plan!)).toEqual([]);
    expect(rowsRead(plan!)).toBeLessThanOrEqual(6);
  });

  test('a product by id is one primary-key lookup', async () => {
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM products OFFSET 5000 LIMIT 1');
    const [plan] = await plansOf((db) => repository.findProductById(db, rows[0]!.id));
    expect(indexesUsed(plan!)).toEqual(['products_pkey']);
    expect(rowsRead(plan!)).toBe(1);
  });

  test('a search for a rare name goes through the trigram index and sorts only its matches', async () => {
    let page!: repository.ProductPage;
    const [plan] = await plansOf(
      async (db) => (page = await repository.listProducts(db, { q: 'oak lamp 1221' }, { limit: 20, offset: 0 })),
    );
    // Only "Oak lamp 12215" (Oak: n % 10 = 5; lamp: n / 10 % 20 = 1).
    expect(page.products.map((product) => product.name)).toEqual(['Oak lamp 12215']);
    expect(page.capped).toBe(false);
    expect(indexesUsed(plan!)).toContain('products_name_trgm_idx');
    expect(seqScans(plan!)).toEqual([]);
    expect(rowsRead(plan!)).toBeLessThanOrEqual(4 * page.total + 40);
  });

  test('a search for a common word reads a bounded slice of the catalog, whatever plan is chosen, and caps its count', async () => {
    let page!: repository.ProductPage;
    const [plan] = await plansOf(async (db) => (page = await repository.listProducts(db, { q: 'lamp' }, { limit: 20, offset: 0 })));
    expect(page).toMatchObject({ total: 1_000, capped: true });
    expect(page.products).toHaveLength(20);
    // 5% of names match: counting 1,001 of them and finding 21 in order reads a few thousand rows, never all.
    expect(rowsRead(plan!)).toBeLessThan(CATALOG / 4);
    for (const sort of sorts(plan!)) expect(sort['Actual Rows']).toBeLessThanOrEqual(1_001);
  });

  test('a page past the end counts once more, from the kept count', async () => {
    let page!: repository.ProductPage;
    const plans = await plansOf(async (db) => (page = await repository.listProducts(db, {}, { limit: 20, offset: CATALOG + 10 })));
    expect(page).toMatchObject({ products: [], total: CATALOG });
    expect(plans).toHaveLength(2);
    expect(seqScans(plans[1]!)).toEqual([]);
  });
});
