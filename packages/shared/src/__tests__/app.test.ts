import { describe, expect, test } from 'vitest';
import { Type } from 'typebox';
import { createApp, createLogger, ConflictError, IdParams, PaginationQuery } from '../index.js';

async function buildTestApp(readiness = {}, degradedBy = {}) {
  return createApp({
    serviceName: 'test-service',
    logger: createLogger('test-service', { level: 'silent' }),
    readiness,
    degradedBy,
    routes: (app) => {
      app.post(
        '/things',
        { schema: { body: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false }) } },
        async (req, reply) => reply.code(201).send({ name: req.body.name }),
      );
      app.get('/things', { schema: { querystring: PaginationQuery } }, async (req) => ({
        limit: req.query.limit,
        offset: req.query.offset,
      }));
      app.get('/things/:id', { schema: { params: IdParams } }, async () => {
        throw new ConflictError('already there');
      });
      app.get('/boom', async () => {
        throw new Error('secret database password in message');
      });
    },
  });
}

describe('createApp', () => {
  test('GET /healthz: answers the service name, ok and uptime', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ service: 'test-service', status: 'ok', uptime: expect.any(Number) });
  });

  test('GET /readyz: when a check fails, then 503 in the envelope naming it', async () => {
    const app = await buildTestApp({ database: async () => Promise.reject(new Error('down')), other: async () => 1 });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'service_unavailable', message: 'not ready: database down' });
  });

  test('GET /readyz: when every check passes, then 200', async () => {
    const app = await buildTestApp({ database: async () => 1 });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  test('GET /readyz: when only a degrading check fails, then 200 degraded, naming it; when a real one fails too, then 503', async () => {
    const down = async () => Promise.reject(new Error('down'));
    const degraded = await (await buildTestApp({ database: async () => 1 }, { events: down })).inject({ method: 'GET', url: '/readyz' });
    expect(degraded.statusCode).toBe(200);
    expect(degraded.json()).toEqual({ service: 'test-service', status: 'degraded', checks: { database: 'ok', events: 'down' } });
    const both = await (await buildTestApp({ database: down }, { events: down })).inject({ method: 'GET', url: '/readyz' });
    expect(both.statusCode).toBe(503);
    expect(both.json().error.message).toBe('not ready: database down');
  });

  test('headers: every answer says nosniff; one to a signed-in caller or under /users says no-store; a public read does not', async () => {
    const app = await buildTestApp();
    const publicRead = await app.inject({ method: 'GET', url: '/things' });
    expect(publicRead.headers['x-content-type-options']).toBe('nosniff');
    expect(publicRead.headers['cache-control']).toBeUndefined();
    const signedIn = await app.inject({ method: 'GET', url: '/things', headers: { authorization: 'Bearer x' } });
    expect(signedIn.headers['cache-control']).toBe('no-store');
    const users = await app.inject({ method: 'POST', url: '/users/login' });
    expect(users.headers['cache-control']).toBe('no-store');
    expect(users.headers['x-content-type-options']).toBe('nosniff');
  });

  test.each([
    ['body', { method: 'POST' as const, url: '/things', payload: { name: 'a\u0000b' } }, 'name'],
    ['query', { method: 'GET' as const, url: '/things?limit=1&q=%00' }, 'q'],
    ['body (a lone high surrogate)', { method: 'POST' as const, url: '/things', payload: '{"name":"a\\ud800b"}' }, 'name'],
    ['body (a lone low surrogate)', { method: 'POST' as const, url: '/things', payload: '{"name":"\\udc00"}' }, 'name'],
  ])('when the %s holds text PostgreSQL cannot store, then 400 naming the field', async (_where, request, field) => {
    const app = await buildTestApp();
    const res = await app.inject({ ...request, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'validation_error',
      message: `${field} must not contain a NUL character or an unpaired surrogate`,
    });
  });

  test('a well-formed surrogate pair (an emoji) is fine', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'tea \u{1F375}' } });
    expect(res.statusCode).not.toBe(400);
  });

  test('unknown route: 404 not_found envelope', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'Route GET /nope not found' } });
  });

  test('unknown body field: 400 validation_error naming the field', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'x', role: 'admin' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_error', message: 'unknown field "role"' });
  });

  test('wrong body type is not coerced: 400', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 5 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0]).toMatchObject({ path: 'name' });
  });

  test('malformed JSON: 400 validation_error', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: 'validation_error', message: 'malformed JSON body' });
  });

  test('body over 1 MiB: 413 payload_too_large', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'x'.repeat(1024 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
  });

  test('pagination: defaults, coercion and bounds', async () => {
    const app = await buildTestApp();
    expect((await app.inject({ method: 'GET', url: '/things' })).json()).toEqual({ limit: 20, offset: 0 });
    expect((await app.inject({ method: 'GET', url: '/things?limit=5&offset=10' })).json()).toEqual({ limit: 5, offset: 10 });
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'offset=-1',
      'limit=1.5',
      'other=1',
      'offset=100000000000000000000',
      'offset=2147483648',
    ]) {
      const res = await app.inject({ method: 'GET', url: `/things?${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code).toBe('validation_error');
    }
  });

  test('a broken percent-escape in the URL: 400 in the envelope', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/things/%zz' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('malformed id in a path: 400 validation_error', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/things/not-a-uuid' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_error');
  });

  test('an AppError keeps its status and code', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/things/6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'conflict', message: 'already there' } });
  });

  test('an unexpected error: 500 internal_error that leaks nothing', async () => {
    const app = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'Internal Server Error' } });
    expect(res.body).not.toContain('secret');
  });

  test('X-Request-Id: kept when given and sane, made otherwise', async () => {
    const app = await buildTestApp();
    const kept = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const made = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('GET /openapi.json: lists the routes but not the probes', async () => {
    const app = await buildTestApp();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths)).toContain('/things');
    expect(Object.keys(doc.paths)).not.toContain('/healthz');
    const limit = doc.paths['/things'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false });
  });
});
