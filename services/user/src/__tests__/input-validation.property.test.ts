/**
 * Property tests of the user service's input validation: whatever body or query arrives, the
 * answer is never a 5xx and every 4xx is the error envelope; valid generated inputs are accepted.
 * A fixed seed (FC_SEED to change it) keeps every run the same; fast-check prints it on failure.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { App, Pool } from '@mini/shared';
import { anyBody, anyPathSegment, anyQuery, expectDefended, fuzzRuns } from '../../../../packages/shared/src/__tests__/input-fuzz.js';
import { createUserDatabase, startUserService, TEST_CONFIG } from './helpers.js';

let pool: Pool;
let app: App;
let client: Awaited<ReturnType<typeof startUserService>>;
let admin: Record<string, string>;

beforeAll(async () => {
  ({ pool } = await createUserDatabase());
  // A signing key of its own: these tests are about input, not about where keys are kept.
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  client = await startUserService(pool, { JWT_PRIVATE_KEY: pem });
  app = client.app;
  admin = (await client.login(TEST_CONFIG.ADMIN_USERNAME, TEST_CONFIG.ADMIN_PASSWORD)).headers;
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
});

// Names are made unique when sent (a suffix), so a generated name never collides with another run's.
let sequence = 0;
const unique = (name: string) => `${name.slice(0, 24)}.${(sequence++).toString(36)}`;

const username = fc.stringMatching(/^[A-Za-z0-9_.-]{3,24}$/);
// Any code point but NUL (refused at the edge): a single `binary` unit is one code point, as the schema counts.
const password = fc.string({ unit: 'binary', minLength: 8, maxLength: 128 }).filter((text) => !text.includes('\u0000'));
const credentials = fc.record({ username, password });

/** Sends `payload` (JSON text) as the body; checks no hash ever leaves (helpers' `call`). */
function send(method: InjectOptions['method'], url: string, payload: string, headers: Record<string, string> = {}) {
  return client.call({ method, url, payload, headers: { 'content-type': 'application/json', ...headers } });
}

async function plainUser() {
  return client.register(unique('target'), 'a-good-password');
}

describe('POST /users/register', () => {
  test('any body: never a 5xx, every 4xx the envelope, and a 201 is never more than a plain user', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody(credentials), async (payload) => {
        const res = await send('POST', '/users/register', payload);
        expectDefended(res, payload);
        if (res.statusCode === 201) expect(res.json().user.role).toBe('user');
      }),
      fuzzRuns(200),
    );
  });

  test('valid bodies: 201 with the name as given, and that password signs in', async () => {
    await fc.assert(
      fc.asyncProperty(credentials, async ({ username: name, password: secret }) => {
        const chosen = unique(name);
        const res = await send('POST', '/users/register', JSON.stringify({ username: chosen, password: secret }));
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().user).toMatchObject({ username: chosen, role: 'user' });
        const login = await send('POST', '/users/login', JSON.stringify({ username: chosen.toUpperCase(), password: secret }));
        expect(login.statusCode, login.body).toBe(200);
      }),
      fuzzRuns(40),
    );
  });
});

describe('POST /users/login', () => {
  test('any body: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyBody(credentials), async (payload) => {
        expectDefended(await send('POST', '/users/login', payload), payload);
      }),
      fuzzRuns(150),
    );
  });

  test('well-formed credentials: 200 or the one 401, never a 400', async () => {
    const known = await plainUser();
    const loose = fc.record({
      username: fc.oneof(fc.constant(known.user.username as string), fc.string({ unit: 'binary', minLength: 1, maxLength: 32 })),
      password: fc.oneof(fc.constant(known.password), fc.string({ unit: 'binary', minLength: 1, maxLength: 128 })),
    });
    await fc.assert(
      fc.asyncProperty(
        loose.filter(({ username: name, password: secret }) => !`${name}${secret}`.includes('\u0000')),
        async (body) => {
          const res = await send('POST', '/users/login', JSON.stringify(body));
          const right = body.username === known.user.username && body.password === known.password;
          expect(res.statusCode, res.body).toBe(right ? 200 : 401);
          if (!right) expect(res.json().error.code).toBe('unauthorized');
        },
      ),
      fuzzRuns(60),
    );
  });
});

describe('PATCH /users/:id (admin)', () => {
  const role = fc.record({ role: fc.constantFrom('user', 'admin') });

  test('any body: never a 5xx, every 4xx the envelope', async () => {
    const target = await plainUser();
    await fc.assert(
      fc.asyncProperty(anyBody(role), async (payload) => {
        expectDefended(await send('PATCH', `/users/${target.user.id}`, payload, admin), payload);
      }),
      fuzzRuns(150),
    );
  });

  test('any id in the path: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyPathSegment, async (segment) => {
        expectDefended(await send('PATCH', `/users/${segment}`, '{"role":"user"}', admin), segment);
      }),
      fuzzRuns(100),
    );
  });

  test('valid bodies: 200 and the role is the one sent', async () => {
    const target = await plainUser();
    await fc.assert(
      fc.asyncProperty(role, async (body) => {
        const res = await send('PATCH', `/users/${target.user.id}`, JSON.stringify(body), admin);
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json().user).toMatchObject({ id: target.user.id, role: body.role });
      }),
      fuzzRuns(30),
    );
  });
});

describe('POST /users/me/password', () => {
  const change = fc.record({ currentPassword: password, newPassword: password });

  test('any body: never a 5xx, every 4xx the envelope', async () => {
    const user = await plainUser();
    await fc.assert(
      fc.asyncProperty(anyBody(change), async (payload) => {
        expectDefended(await send('POST', '/users/me/password', payload, user.headers), payload);
      }),
      fuzzRuns(150),
    );
  });

  test('valid bodies with the right current password: 204, and the new one signs in', async () => {
    const user = await plainUser();
    let current = user.password;
    await fc.assert(
      fc.asyncProperty(
        password.filter((next) => next !== current),
        async (next) => {
          const res = await send(
            'POST',
            '/users/me/password',
            JSON.stringify({ currentPassword: current, newPassword: next }),
            user.headers,
          );
          expect(res.statusCode, res.body).toBe(204);
          current = next;
          expect((await send('POST', '/users/login', JSON.stringify({ username: user.user.username, password: next }))).statusCode).toBe(
            200,
          );
        },
      ),
      fuzzRuns(20),
    );
  });
});

describe('GET /users (admin)', () => {
  const plausible = fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.string({ maxLength: 6 }));

  test('any query: never a 5xx, every 4xx the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(anyQuery(['limit', 'offset'], plausible), async (query) => {
        const res = await app.inject({ method: 'GET', url: `/users?${query}`, headers: admin });
        expectDefended(res, query);
      }),
      fuzzRuns(150),
    );
  });

  test('valid pages: 200 with the limit and offset asked for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 2_147_483_647 }), async (limit, offset) => {
        const res = await app.inject({ method: 'GET', url: `/users?limit=${limit}&offset=${offset}`, headers: admin });
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toMatchObject({ limit, offset, users: expect.any(Array) });
      }),
      fuzzRuns(100),
    );
  });
});
