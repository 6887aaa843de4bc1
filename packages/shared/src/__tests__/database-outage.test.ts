import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { createApp, type App } from '../app.js';
import { createPool, type Pool } from '../db.js';
import { createLogger } from '../logger.js';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';

// A service whose database goes away (through a TCP proxy we cut): requests answer 503 fast,
// never 500 and never hang; /readyz is 503 while /healthz stays 200; all is well again after.
let proxy: TcpProxy;
let pool: Pool;
let app: App;

beforeAll(async () => {
  const admin = new URL(inject('postgresUrl'));
  proxy = await startTcpProxy({ target: { host: admin.hostname, port: Number(admin.port) } });
  admin.host = `127.0.0.1:${proxy.port}`;
  pool = createPool(admin.toString(), { max: 2 });
  app = await createApp({
    serviceName: 'outage-test',
    logger: createLogger('outage-test', { level: 'silent' }),
    readiness: { database: () => pool.query('SELECT 1') },
    routes: (scope) => {
      scope.get('/now', async () => (await pool.query<{ now: Date }>('SELECT now()')).rows[0]);
    },
  });
});
afterAll(async () => {
  await app?.close();
  await pool?.end();
  await proxy?.close();
});

describe('the database as a dependency', () => {
  test('when it goes away, then 503 within seconds (not 500, no hang); /readyz 503, /healthz 200; back, then 200 again', async () => {
    expect((await app.inject({ method: 'GET', url: '/now' })).statusCode).toBe(200);
    await proxy.cut();
    const started = Date.now();
    const down = await app.inject({ method: 'GET', url: '/now' });
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toEqual({ code: 'service_unavailable', message: 'the database is unavailable' });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    await proxy.restore();
    await expect
      .poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, { timeout: 5_000, interval: 100 })
      .toBe(200);
    expect((await app.inject({ method: 'GET', url: '/now' })).statusCode).toBe(200);
  });

  test('when a statement runs past its limit (5 s), then PostgreSQL cancels it (57014, which answers 503)', async () => {
    const slow = await app.inject({ method: 'GET', url: '/readyz' });
    expect(slow.statusCode).toBe(200);
    const started = Date.now();
    const error = await pool.query('SELECT pg_sleep(10)').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((error as { code?: string }).code).toBe('57014');
  }, 15_000);
});
