import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { createHttpClient } from '../http-client.js';
import { freePort } from '../testing/postgres.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('createHttpClient', () => {
  test('when the upstream answers JSON, then status and body come back', async () => {
    const baseUrl = await serve((_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const client = createHttpClient({ baseUrl, name: 'stub' });
    expect(await client.postJson('/x', { a: 1 })).toEqual({ status: 201, body: { ok: true } });
    await client.close();
  });

  test('when nothing listens, then 503 service_unavailable quickly', async () => {
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, name: 'stub' });
    const started = Date.now();
    await expect(client.getJson('/x')).rejects.toMatchObject({ status: 503, code: 'service_unavailable', message: 'stub is unavailable' });
    expect(Date.now() - started).toBeLessThan(1_000);
    await client.close();
  });

  test('when the upstream is slower than the timeout, then 504 at about the timeout, not a second later', async () => {
    const baseUrl = await serve((_req, res) => setTimeout(() => res.end('{}'), 2_000).unref());
    const client = createHttpClient({ baseUrl, name: 'stub', timeoutMs: 150 });
    const started = Date.now();
    await expect(client.getJson('/x')).rejects.toMatchObject({ status: 504, code: 'gateway_timeout' });
    expect(Date.now() - started).toBeLessThan(700);
    await client.close().catch(() => undefined);
  });

  test('when the upstream fails with a non-JSON body, then its 5xx status still comes back', async () => {
    const baseUrl = await serve((_req, res) => res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>'));
    const client = createHttpClient({ baseUrl, name: 'stub' });
    expect(await client.getJson('/x')).toEqual({ status: 500, body: null });
    await client.close();
  });

  test('when a 200 answer is not JSON, then 502 bad_gateway', async () => {
    const baseUrl = await serve((_req, res) => res.writeHead(200).end('not json'));
    const client = createHttpClient({ baseUrl, name: 'stub' });
    await expect(client.getJson('/x')).rejects.toMatchObject({ status: 502, code: 'bad_gateway' });
    await client.close();
  });
});
