import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { createTokenVerifier, remoteKeySet } from '../auth.js';
import { createTestIssuer } from '../testing/tokens.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

// A key set server that can start failing, as the user service does while it restarts.
async function serveKeys(jwks: unknown) {
  let failing = false;
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches += 1;
    if (failing) return void res.writeHead(503).end('restarting');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/.well-known/jwks.json`;
  return { url, fail: () => void (failing = true), fetches: () => fetches };
}

describe('createTokenVerifier over a remote key set', () => {
  test('when the key set was fetched once, then later outages of its server do not matter', async () => {
    const issuer = await createTestIssuer();
    const keys = await serveKeys(issuer.jwks);
    const verify = createTokenVerifier({ keys: remoteKeySet(keys.url), issuer: issuer.issuer, audience: issuer.audience });
    const { caller, headers } = await issuer.signIn();
    const token = headers.authorization.slice('Bearer '.length);
    expect(await verify(token)).toEqual(caller);
    keys.fail();
    expect(await verify(token)).toEqual(caller);
    expect(keys.fetches()).toBe(1);
  });

  test('when the key set server answers an error, then 503 (our outage), not 401 (a bad token)', async () => {
    const issuer = await createTestIssuer();
    const keys = await serveKeys(issuer.jwks);
    keys.fail();
    const verify = createTokenVerifier({ keys: remoteKeySet(keys.url), issuer: issuer.issuer, audience: issuer.audience });
    const { headers } = await issuer.signIn();
    await expect(verify(headers.authorization.slice('Bearer '.length))).rejects.toMatchObject({ status: 503, code: 'service_unavailable' });
  });

  test('with the key sets of two replicas, one restarting: the keys come from the other; with both away, 503', async () => {
    const issuer = await createTestIssuer();
    const [restarting, up] = [await serveKeys(issuer.jwks), await serveKeys(issuer.jwks)];
    restarting.fail();
    const verify = createTokenVerifier({
      keys: remoteKeySet(`${restarting.url},${up.url}`),
      issuer: issuer.issuer,
      audience: issuer.audience,
    });
    const { caller, headers } = await issuer.signIn();
    expect(await verify(headers.authorization.slice('Bearer '.length))).toEqual(caller);
    expect([restarting.fetches(), up.fetches()]).toEqual([1, 1]);

    const other = await createTestIssuer();
    const [a, b] = [await serveKeys(other.jwks), await serveKeys(other.jwks)];
    a.fail();
    b.fail();
    const verifyOther = createTokenVerifier({ keys: remoteKeySet(`${a.url},${b.url}`), issuer: other.issuer, audience: other.audience });
    const signed = await other.signIn();
    await expect(verifyOther(signed.headers.authorization.slice('Bearer '.length))).rejects.toMatchObject({ status: 503 });
  });

  test('a bad token is a 401 at the first key set: the others are not asked', async () => {
    const issuer = await createTestIssuer();
    const other = await createTestIssuer();
    const [first, second] = [await serveKeys(issuer.jwks), await serveKeys(issuer.jwks)];
    const verify = createTokenVerifier({
      keys: remoteKeySet(`${first.url},${second.url}`),
      issuer: issuer.issuer,
      audience: issuer.audience,
    });
    const forged = await other.sign({ id: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55', username: 'mallory', role: 'admin' });
    await expect(verify(forged)).rejects.toMatchObject({ status: 401 });
    expect(second.fetches()).toBe(0);
  });

  test('when the token is bad, then 401', async () => {
    const issuer = await createTestIssuer();
    const other = await createTestIssuer();
    const keys = await serveKeys(issuer.jwks);
    const verify = createTokenVerifier({ keys: remoteKeySet(keys.url), issuer: issuer.issuer, audience: issuer.audience });
    const forged = await other.sign({ id: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55', username: 'mallory', role: 'admin' });
    await expect(verify(forged)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    await expect(verify('not.a.token')).rejects.toMatchObject({ status: 401 });
  });
});

describe('createTokenVerifier claims', () => {
  // Each token is correctly signed by the trusted key: only the one claim named differs.
  test.each([
    ['aud', { audience: 'another-audience' }],
    ['iss', { issuer: 'another-issuer' }],
  ])('when only %s is wrong on a correctly signed token, then 401', async (_claim, overrides) => {
    const trusted = await createTestIssuer();
    const verify = createTokenVerifier({ keys: trusted.keys, issuer: trusted.issuer, audience: trusted.audience });
    const caller = { id: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55', username: 'alice', role: 'user' as const };
    const token = await trusted.sign(caller, overrides);
    await expect(verify(token)).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await verify(await trusted.sign(caller))).toEqual(caller);
  });
});

describe('createTokenVerifier lifetimes', () => {
  const caller = { id: '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55', username: 'alice', role: 'user' as const };

  test('when a correctly signed token lives longer than the maximum (here a century), then 401', async () => {
    const trusted = await createTestIssuer();
    const verify = createTokenVerifier({ keys: trusted.keys, issuer: trusted.issuer, audience: trusted.audience });
    await expect(verify(await trusted.sign(caller, { expiresIn: '100y' }))).rejects.toMatchObject({ status: 401 });
    await expect(verify(await trusted.sign(caller, { expiresIn: '61m' }))).rejects.toMatchObject({ status: 401 });
    expect(await verify(await trusted.sign(caller, { expiresIn: '60m' }))).toEqual(caller);
  });

  test('when a token says it was issued in the future, then 401', async () => {
    const trusted = await createTestIssuer();
    const verify = createTokenVerifier({ keys: trusted.keys, issuer: trusted.issuer, audience: trusted.audience });
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    await expect(verify(await trusted.sign(caller, { issuedAt: inAnHour, expiresIn: inAnHour + 600 }))).rejects.toMatchObject({
      status: 401,
    });
  });

  test('when a service allows longer tokens, then its maximum applies', async () => {
    const trusted = await createTestIssuer();
    const verify = createTokenVerifier({
      keys: trusted.keys,
      issuer: trusted.issuer,
      audience: trusted.audience,
      maxLifetimeSeconds: 86_400,
    });
    expect(await verify(await trusted.sign(caller, { expiresIn: '23h' }))).toEqual(caller);
  });
});
