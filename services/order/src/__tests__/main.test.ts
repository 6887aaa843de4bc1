import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { createDatabase, createTestIssuer, freePort } from '@mini/shared/testing';

// main.ts is the composition root: the settings must reach what they configure. Started as a
// real process against a product service that takes 5 s to answer.
const SERVICE_DIR = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess | undefined;
let slowProducts: Server;
let baseUrl: string;
let authorization: string;

beforeAll(async () => {
  const issuer = await createTestIssuer();
  authorization = (await issuer.signIn()).headers.authorization;
  slowProducts = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"products":[]}'), 5_000).unref();
  });
  await new Promise<void>((resolve) => slowProducts.listen(0, '127.0.0.1', resolve));
  const stubUrl = `http://127.0.0.1:${(slowProducts.address() as AddressInfo).port}`;
  const adminUrl = inject('postgresUrl');
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
    cwd: SERVICE_DIR,
    stdio: 'ignore',
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: await createDatabase(adminUrl, 'order_main'),
      EVENT_BUS_URL: await createDatabase(adminUrl, 'order_main_events'),
      PRODUCT_SERVICE_URL: stubUrl,
      PRODUCT_TIMEOUT_MS: '300',
      JWKS_URL: `${stubUrl}/.well-known/jwks.json`,
      JWT_ISSUER: issuer.issuer,
      JWT_AUDIENCE: issuer.audience,
    },
  });
  for (const deadline = Date.now() + 30_000; ;) {
    if (
      await fetch(`${baseUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('the order service did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  slowProducts?.closeAllConnections();
  await new Promise<void>((resolve) => (slowProducts ? slowProducts.close(() => resolve()) : resolve()));
});

describe('order service start-up', () => {
  test('when PRODUCT_TIMEOUT_MS is 300, then a product lookup is cut off at 300 ms (504), not at the 2 s default', async () => {
    const started = Date.now();
    const res = await fetch(`${baseUrl}/orders`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ productId: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55' }),
    });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('gateway_timeout');
    expect(elapsed).toBeLessThan(1_500);
  });

  test('when it gets SIGTERM, then it exits 0 by itself', async () => {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
