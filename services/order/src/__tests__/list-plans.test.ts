import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createPool, EVENTS_MIGRATIONS, runMigrations, type Pool } from '@mini/shared';
import { createDatabase } from '@mini/shared/testing';
import * as repository from '../repository.js';

// A user's order page on a table of 100,000 orders (1,000 users, 2 lines each): it must walk the
// user's index for the page's rows, never the whole table, and never sort it. Plans, not timings.
const ORDERS = 100_000;
const USERS = 1_000;
let pool: Pool;
let someUser: string;

beforeAll(async () => {
  const databaseUrl = await createDatabase(inject('postgresUrl'), 'order_plans');
  await runMigrations({
    databaseUrl,
    dir: [fileURLToPath(EVENTS_MIGRATIONS), fileURLToPath(new URL('../../migrations', import.meta.url))],
  });
  // Seeding 100,000 rows can take longer than a request's 5 s statement limit on a busy machine.
  pool = createPool(databaseUrl, { max: 2, statementTimeoutMs: 0 });
  // The lines' foreign-key checks would take most of the seeding time: this seed is consistent by construction.
  const seeder = await pool.connect();
  await seeder.query("SET session_replication_role = 'replica'");
  await seeder.query(
    `WITH users AS (SELECT gen_random_uuid() AS user_id, u FROM generate_series(0, $2::int - 1) AS u),
     placed AS (
       INSERT INTO orders (user_id, status, total_cents, created_at)
       SELECT users.user_id, (ARRAY['pending','confirmed','confirmed','confirmed','rejected','cancelled'])[1 + n % 6], 300,
              timestamptz '2026-01-01' + n * interval '1 second'
       FROM generate_series(1, $1::int) AS n JOIN users ON users.u = n % $2::int
       RETURNING id
     )
     INSERT INTO order_items (order_id, line_no, product_id, name, unit_price_cents, quantity, line_total_cents)
     SELECT placed.id, line, gen_random_uuid(), 'item', 100, line, 100 * line FROM placed, generate_series(1, 2) AS line`,
    [ORDERS, USERS],
  );
  await seeder.query('RESET session_replication_role');
  seeder.release();
  await pool.query('VACUUM ANALYZE orders, order_items');
  someUser = (await pool.query<{ user_id: string }>('SELECT user_id FROM orders LIMIT 1')).rows[0]!.user_id;
}, 120_000);
afterAll(async () => pool?.end());

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

const nodesOf = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];

/** Runs `work` against a recorder, then EXPLAIN ANALYZEs each statement it sent, with its parameters. */
async function plansOf(work: (db: Pool) => Promise<unknown>): Promise<PlanNode[][]> {
  const sent: { text: string; values: unknown[] }[] = [];
  const recorder = {
    query: (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
      const statement =
        typeof config === 'string' ? { text: config, values: values ?? [] } : { text: config.text, values: config.values ?? [] };
      sent.push(statement);
      return pool.query(statement.text, statement.values);
    },
  } as unknown as Pool;
  await work(recorder);
  const plans = [];
  for (const { text, values } of sent) {
    const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
    plans.push(nodesOf(rows[0]!['QUERY PLAN'][0].Plan));
  }
  return plans;
}

/** Rows the scans of `relation` looked at, over every loop. */
const rowsRead = (nodes: PlanNode[], relation: string) =>
  nodes
    .filter((node) => node['Relation Name'] === relation && /Scan/.test(node['Node Type']) && !/Bitmap Index/.test(node['Node Type']))
    .reduce((sum, node) => sum + (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'], 0);

const fullScans = (nodes: PlanNode[]) => nodes.filter((node) => node['Node Type'] === 'Seq Scan');
const sorts = (nodes: PlanNode[]) => nodes.filter((node) => /Sort/.test(node['Node Type']));

describe(`a user's orders among ${ORDERS.toLocaleString('en')}`, () => {
  test('the page and its count read only that user’s rows, through the (user_id, created_at, id) index', async () => {
    let result!: Awaited<ReturnType<typeof repository.listOrders>>;
    const plans = await plansOf(async (db) => (result = await repository.listOrders(db, { userId: someUser, limit: 20, offset: 0 })));
    expect(result.total).toBe(ORDERS / USERS);
    expect(result.orders).toHaveLength(20);
    expect(result.orders[0]!.items).toHaveLength(2);
    for (const plan of plans) {
      expect(fullScans(plan)).toEqual([]);
      expect(plan.map((node) => node['Index Name']).filter(Boolean)).toContain('orders_user_id_created_at_idx');
      expect(rowsRead(plan, 'orders')).toBeLessThanOrEqual(ORDERS / USERS);
    }
    const [page] = plans;
    expect(sorts(page!).filter((node) => node['Actual Rows'] > 20 * 2)).toEqual([]);
    expect(rowsRead(page!, 'order_items')).toBeLessThanOrEqual(20 * 2);
  });

  test('a status filter stays inside the user’s rows', async () => {
    const plans = await plansOf((db) => repository.listOrders(db, { userId: someUser, status: 'confirmed', limit: 20, offset: 0 }));
    for (const plan of plans) {
      expect(fullScans(plan)).toEqual([]);
      expect(rowsRead(plan, 'orders')).toBeLessThanOrEqual(ORDERS / USERS);
    }
  });

  test('one order with its lines is a primary-key lookup', async () => {
    const { rows } = await pool.query<{ id: string }>('SELECT id FROM orders OFFSET 777 LIMIT 1');
    const [plan] = await plansOf((db) => repository.findOrderById(db, rows[0]!.id));
    expect(fullScans(plan!)).toEqual([]);
    expect(rowsRead(plan!, 'orders')).toBe(1);
    expect(rowsRead(plan!, 'order_items')).toBe(2);
  });
});
