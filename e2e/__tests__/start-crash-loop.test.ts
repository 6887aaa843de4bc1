import pg from 'pg';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { createDatabase } from '@mini/shared/testing';
import { freeStartPorts, servicePid, startAndWait, tempDataDir, type RunningScript } from '../start-helpers.js';

// A service that cannot come back (its database is gone) is restarted five times with growing
// pauses, then npm start gives up: one line, and the whole stack stops with exit code 1.
// The databases are the test run's own PostgreSQL (what USER_DATABASE_URL etc. are for), so
// the test can take one away.
const data = await tempDataDir('mini-crash-');
let running: RunningScript | undefined;

afterAll(async () => {
  await running?.interrupt();
  await data.remove();
});

describe('npm start with a service in a crash loop', () => {
  test('when the product service keeps dying, then after 5 restarts the stack stops with one line and exit code 1', async () => {
    const adminUrl = inject('postgresUrl');
    const product = await createDatabase(adminUrl, 'crash_product');
    const env = {
      ...(await freeStartPorts()),
      USER_DATABASE_URL: await createDatabase(adminUrl, 'crash_user'),
      PRODUCT_DATABASE_URL: product,
      ORDER_DATABASE_URL: await createDatabase(adminUrl, 'crash_order'),
      EVENT_BUS_URL: await createDatabase(adminUrl, 'crash_events'),
    };
    running = await startAndWait(env, data.dir);
    expect(running.output()).not.toContain('embedded PostgreSQL');

    // Its database disappears, then the process dies: every restart now fails at boot.
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE "${new URL(product).pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
    process.kill(servicePid(running.child.pid!, 'product')!, 'SIGKILL');

    const code = await Promise.race([running.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000))]);
    const output = running.output();
    expect(code, output).toBe(1);
    for (const attempt of [1, 2, 3, 4, 5]) expect(output).toContain(`(restart ${attempt} of 5)`);
    expect(output).not.toContain('product is back');
    const verdicts = output.split('\n').filter((line) => line.includes('keeps crashing'));
    expect(verdicts).toEqual([
      expect.stringMatching(/^\[start\] product keeps crashing \(exit code 1, 5 restarts in a row\); stopping the stack/),
    ]);
    expect(output).toContain('[start] stopped');
    running = undefined;
  }, 120_000);
});
