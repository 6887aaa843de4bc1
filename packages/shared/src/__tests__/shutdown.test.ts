import { request as httpRequest, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { beginDraining, createApp, createLogger, NOT_PROCESSED_HEADER, type App } from '../index.js';

async function listening(): Promise<{ app: App; port: number; finishSlow: () => void; handled: () => number }> {
  let release: () => void = () => {};
  let handled = 0;
  const app = await createApp({
    serviceName: 'svc',
    logger: createLogger('svc', { level: 'silent' }),
    routes: (scope) => {
      scope.get('/work', async () => {
        handled++;
        return { ok: true };
      });
      scope.get('/slow', () => new Promise((resolve) => (release = () => resolve({ slow: 'done' }))));
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port, finishSlow: () => release(), handled: () => handled };
}

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shutting down without losing a request', () => {
  test('draining: not ready any more, still serving, and every answer closes its connection', async () => {
    const { app, port } = await listening();
    try {
      expect((await get(port, '/readyz')).status).toBe(200);
      beginDraining(app);
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).error.code).toBe('service_unavailable');
      const work = await get(port, '/work');
      expect(work.status).toBe(200);
      expect(work.headers.connection).toBe('close');
    } finally {
      await app.close();
    }
  });

  test('closing: in-flight requests finish; one arriving on a kept-alive connection gets a 503 envelope marked not processed', async () => {
    const { app, port, finishSlow, handled } = await listening();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A kept-alive connection that is busy when the close starts (so it is not closed as idle).
      expect((await get(port, '/work', agent)).status).toBe(200);
      const slow = get(port, '/slow', agent);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closed = app.close();
      const queued = get(port, '/work', agent);
      await new Promise((resolve) => setTimeout(resolve, 50));
      finishSlow();
      expect(JSON.parse((await slow).body)).toEqual({ slow: 'done' });
      const refused = await queued;
      expect(refused.status).toBe(503);
      expect(refused.headers[NOT_PROCESSED_HEADER]).toBe('shutting-down');
      expect(refused.headers.connection).toBe('close');
      expect(JSON.parse(refused.body)).toEqual({ error: { code: 'service_unavailable', message: 'svc is shutting down' } });
      // The refused request was never handled.
      expect(handled()).toBe(1);
      await closed;
    } finally {
      agent.destroy();
    }
  });
});
