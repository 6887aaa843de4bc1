import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { TOKEN_ALGORITHM } from '@mini/shared';
import type { User } from './repository.js';
import type { SigningKeys } from './signing-keys.js';

/** Signs access tokens for users. */
export type TokenIssuer = (user: User) => Promise<string>;

/** An issuer of EdDSA access tokens with the claims every service relies on. */
export function createTokenIssuer({
  signingKeys,
  issuer,
  audience,
  ttlSeconds,
}: {
  signingKeys: SigningKeys;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}): TokenIssuer {
  return async (user) => {
    // Read per token: a rotated key takes over without a restart.
    const { kid, privateKey } = signingKeys.current();
    const issuedAt = Math.floor(Date.now() / 1000);
    return new SignJWT({ username: user.username, role: user.role })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid })
      .setSubject(user.id)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ttlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  };
}
