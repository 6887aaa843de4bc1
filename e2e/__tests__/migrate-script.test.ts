import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { describe, expect, inject, test } from 'vitest';
import { createDatabase } from '@mini/shared/testing';
import { ROOT } from '../../scripts/stack.js';

async function tablesOf(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pgmigrations' ORDER BY 1",
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe('npm run migrate', () => {
  test("each service's migrations go to its own database, and only there", async () => {
    const users = await createDatabase(inject('postgresUrl'), 'migrate_user');
    const orders = await createDatabase(inject('postgresUrl'), 'migrate_order');
    const run = () =>
      spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'scripts/migrate.ts'], {
        cwd: ROOT,
        env: { ...process.env, USER_DATABASE_URL: users, ORDER_DATABASE_URL: orders, PRODUCT_DATABASE_URL: '', LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(await tablesOf(users)).toEqual(['signing_keys', 'users']);
    // The order service's own tables and the outbox/inbox it shares with the product service.
    expect(await tablesOf(orders)).toEqual(['idempotency_keys', 'order_items', 'orders', 'outbox', 'processed_events']);
    const again = run();
    expect(again.stdout).toContain('USER_DATABASE_URL: up to date');
    expect(again.stdout).toContain('ORDER_DATABASE_URL: up to date');
  });

  test('with no database named, it says which variables to set', () => {
    const res = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'scripts/migrate.ts'], {
      cwd: ROOT,
      env: { ...process.env, USER_DATABASE_URL: '', PRODUCT_DATABASE_URL: '', ORDER_DATABASE_URL: '' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('set at least one of USER_DATABASE_URL, PRODUCT_DATABASE_URL, ORDER_DATABASE_URL');
  });
});
