import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose';
import { TOKEN_ALGORITHM, type Caller } from '../auth.js';

export const TEST_ISSUER = 'mini-ecommerce-user-service';
export const TEST_AUDIENCE = 'mini-ecommerce';

/**
 * A stand-in for the user service's token signing in component tests of
 * other services: signs tokens and exposes the matching key set.
 */
export async function createTestIssuer({ issuer = TEST_ISSUER, audience = TEST_AUDIENCE } = {}) {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519' });
  const kid = randomUUID();
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALGORITHM, use: 'sig' }] };
  const keys: JWTVerifyGetKey = createLocalJWKSet(jwks);
  async function sign(
    caller: Caller,
    { expiresIn = '1h', issuedAt, ...claims }: { expiresIn?: string | number; issuedAt?: number; issuer?: string; audience?: string } = {},
  ) {
    return new SignJWT({ username: caller.username, role: caller.role })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid })
      .setSubject(caller.id)
      .setIssuer(claims.issuer ?? issuer)
      .setAudience(claims.audience ?? audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresIn)
      .setJti(randomUUID())
      .sign(privateKey);
  }
  /** A signed-in caller with a fresh id and its `Authorization` header. */
  async function signIn(role: Caller['role'] = 'user') {
    const caller: Caller = { id: randomUUID(), username: `${role}_${randomUUID().slice(0, 8)}`, role };
    return { caller, headers: { authorization: `Bearer ${await sign(caller)}` } };
  }
  return { issuer, audience, keys, jwks, sign, signIn };
}
