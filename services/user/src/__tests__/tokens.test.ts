import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { App, Pool } from '@mini/shared';
import { bearer, createUserDatabase, startUserService, TEST_CONFIG } from './helpers.js';

// The service signs with a key the test holds too, so each bad token below differs from a good one in one thing only.
const { privateKey: PRIVATE_PEM } = generateKeyPairSync('ed25519', {
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const PRIVATE_KEY = createPrivateKey(PRIVATE_PEM);
const PUBLIC_JWK = createPublicKey(PRIVATE_KEY).export({ format: 'jwk' });
const TTL = 900;

let pool: Pool;
let app: App;
let client: Awaited<ReturnType<typeof startUserService>>;
let kid: string;

beforeAll(async () => {
  ({ pool } = await createUserDatabase());
  client = await startUserService(pool, { JWT_PRIVATE_KEY: PRIVATE_PEM, TOKEN_TTL_SECONDS: TTL });
  app = client.app;
  kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: PUBLIC_JWK.x! });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface ForgeOptions {
  key?: KeyObject;
  header?: object;
  issuer?: string;
  audience?: string;
  issuedAt?: number;
  ttl?: number;
}

/** A token like the service's own, with any claim or header changed. */
async function forge(user: { id: string; username: string; role: string }, options: ForgeOptions = {}) {
  const { key = PRIVATE_KEY, header = {}, issuer = TEST_CONFIG.JWT_ISSUER, audience = TEST_CONFIG.JWT_AUDIENCE, ttl = TTL } = options;
  const issuedAt = options.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ username: user.username, role: user.role })
    .setProtectedHeader({ alg: 'EdDSA', kid, ...header })
    .setSubject(user.id)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttl)
    .setJti(randomUUID())
    .sign(key);
}

async function me(token: string) {
  return client.call({ method: 'GET', url: '/users/me', headers: bearer(token) });
}

describe('issued tokens', () => {
  test('carry alg EdDSA, the key id, and sub, username, role, iss, aud, iat, exp = iat + TTL and a jti', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { user, token } = await client.register();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'JWT', kid });
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      sub: user.id,
      username: user.username,
      role: 'user',
      iss: TEST_CONFIG.JWT_ISSUER,
      aud: TEST_CONFIG.JWT_AUDIENCE,
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(claims.exp! - claims.iat!).toBe(TTL);
  });

  test('get a fresh jti each time', async () => {
    const { user, token, password } = await client.register();
    const again = await client.login(user.username, password);
    const third = await client.login(user.username, password);
    const jtis = [token, again.token, third.token].map((t) => decodeJwt(t).jti);
    expect(new Set(jtis).size).toBe(3);
  });

  test("an admin's token says role admin", async () => {
    const { token } = await client.login(TEST_CONFIG.ADMIN_USERNAME, TEST_CONFIG.ADMIN_PASSWORD);
    expect(decodeJwt(token).role).toBe('admin');
  });

  test('verify against the key set served at /.well-known/jwks.json', async () => {
    const { token, user } = await client.register();
    const res = await client.call({ method: 'GET', url: '/.well-known/jwks.json' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(res.json()), {
      issuer: TEST_CONFIG.JWT_ISSUER,
      audience: TEST_CONFIG.JWT_AUDIENCE,
      algorithms: ['EdDSA'],
    });
    expect(payload.sub).toBe(user.id);
  });
});

describe('GET /.well-known/jwks.json', () => {
  test('with JWT_PRIVATE_KEY set, serves only its public half, kid = RFC 7638 thumbprint, cacheable for 5 minutes', async () => {
    const res = await client.call({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.json()).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: PUBLIC_JWK.x, kid, alg: 'EdDSA', use: 'sig' }] });
    expect(res.body).not.toContain('"d"');
  });

  test('with JWT_PRIVATE_KEY set, no key is created in the database', async () => {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM signing_keys');
    expect(rows[0].n).toBe(0);
  });

  test('needs no token', async () => {
    const res = await client.call({ method: 'GET', url: '/.well-known/jwks.json', headers: { authorization: 'Bearer nonsense' } });
    expect(res.statusCode).toBe(200);
  });
});

describe('tokens the service refuses with 401', () => {
  test('control: a token forged with the right key and claims is accepted', async () => {
    const { user } = await client.register();
    expect((await me(await forge(user))).statusCode).toBe(200);
  });

  test('a token whose payload was altered (role raised to admin)', async () => {
    const { token } = await client.register();
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${b64({ ...decodeJwt(token), role: 'admin' })}.${signature}`;
    const res = await client.call({ method: 'GET', url: '/users', headers: bearer(tampered) });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'unauthorized', message: 'invalid token' } });
    expect((await me(tampered)).statusCode).toBe(401);
  });

  test('a token whose signature was altered', async () => {
    const { token } = await client.register();
    const signature = token.split('.')[2]!;
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect((await me(token.replace(/[^.]+$/, flipped))).statusCode).toBe(401);
  });

  test('an expired token', async () => {
    const { user } = await client.register();
    const token = await forge(user, { issuedAt: Math.floor(Date.now() / 1000) - 2 * TTL, ttl: TTL });
    const res = await me(token);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe('token expired');
  });

  test('an unsigned token (alg none), with or without a signature part', async () => {
    const { user } = await client.register();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: user.id,
      username: user.username,
      role: 'admin',
      iss: TEST_CONFIG.JWT_ISSUER,
      aud: TEST_CONFIG.JWT_AUDIENCE,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
    };
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect((await me(unsigned)).statusCode).toBe(401);
    expect((await me(`${unsigned}c2lnbmF0dXJl`)).statusCode).toBe(401);
  });

  test('an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const { user } = await client.register();
    const token = await new SignJWT({ username: user.username, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid })
      .setSubject(user.id)
      .setIssuer(TEST_CONFIG.JWT_ISSUER)
      .setAudience(TEST_CONFIG.JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti(randomUUID())
      .sign(Buffer.from(PUBLIC_JWK.x!, 'base64url'));
    expect((await me(token)).statusCode).toBe(401);
  });

  test('a token signed by another key under the same kid', async () => {
    const { user } = await client.register();
    const { privateKey: otherKey } = generateKeyPairSync('ed25519');
    expect((await me(await forge(user, { key: otherKey }))).statusCode).toBe(401);
  });

  test('a token for another audience', async () => {
    const { user } = await client.register();
    expect((await me(await forge(user, { audience: 'some-other-api' }))).statusCode).toBe(401);
  });

  test('a token from another issuer', async () => {
    const { user } = await client.register();
    expect((await me(await forge(user, { issuer: 'https://evil.example' }))).statusCode).toBe(401);
  });

  test('a token with an unknown kid', async () => {
    const { user } = await client.register();
    expect((await me(await forge(user, { header: { kid: 'unknown-key' } }))).statusCode).toBe(401);
  });

  test('a valid token for an account that does not exist', async () => {
    const ghost = { id: randomUUID(), username: 'ghost', role: 'user' };
    expect((await me(await forge(ghost))).statusCode).toBe(401);
  });
});
