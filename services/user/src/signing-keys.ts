import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { TOKEN_ALGORITHM, type Logger } from '@mini/shared';
import type { SigningKeyRepository } from './repository.js';

/** The public half of a signing key, as the JWKS serves it. */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof TOKEN_ALGORITHM;
  use: 'sig';
}

/** The key tokens are signed with now, and every public key tokens may be verified with. */
export interface SigningKeys {
  current: { kid: string; privateKey: CryptoKey };
  jwks: { keys: PublicJwk[] };
}

/**
 * Loads the signing keys once at start. With `privateKeyPem` (JWT_PRIVATE_KEY)
 * that key is used; otherwise the keys live in this service's database and the
 * first replica to boot creates one, which every other replica then loads.
 */
export async function loadSigningKeys({
  privateKeyPem,
  repository,
  logger,
}: {
  privateKeyPem: string;
  repository: SigningKeyRepository;
  logger: Logger;
}): Promise<SigningKeys> {
  if (privateKeyPem) {
    const privateKey = await importPKCS8(privateKeyPem, TOKEN_ALGORITHM, { extractable: true });
    const publicJwk = await publicHalf(await exportJWK(privateKey));
    logger.info({ kid: publicJwk.kid }, 'signing with the key from JWT_PRIVATE_KEY');
    // Sign with a non-extractable copy: nothing later can read the private key back out.
    return { current: { kid: publicJwk.kid, privateKey: await importPKCS8(privateKeyPem, TOKEN_ALGORITHM) }, jwks: { keys: [publicJwk] } };
  }

  let stored = await repository.findSigningKeys();
  if (stored.length === 0) {
    const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const publicJwk = await publicHalf(privateJwk);
    // Replicas booting together each try generation 1; one insert wins and all re-read it.
    await repository.insertSigningKeyIfAbsent({
      kid: publicJwk.kid,
      generation: 1,
      privateJwk: { ...privateJwk },
      publicJwk: { ...publicJwk },
    });
    stored = await repository.findSigningKeys();
    if (stored[0]?.kid === publicJwk.kid) logger.info({ kid: publicJwk.kid }, 'created a signing key');
  }
  const [newest] = stored;
  if (!newest) throw new Error('no signing key could be stored or loaded');
  const privateKey = await importJWK(newest.privateJwk as JWK, TOKEN_ALGORITHM, { extractable: false });
  if (privateKey instanceof Uint8Array) throw new Error('the stored signing key is not an asymmetric private key');
  logger.info({ kid: newest.kid }, 'signing with the key stored in the database');
  return {
    current: { kid: newest.kid, privateKey },
    // Older keys stay published so tokens they signed keep verifying until they expire.
    jwks: { keys: await Promise.all(stored.map((key) => publicHalf(key.publicJwk as JWK, key.kid))) },
  };
}

/** Only the public members of an Ed25519 JWK (never `d`), with its kid (RFC 7638 thumbprint unless stored). */
async function publicHalf(jwk: JWK, kid?: string): Promise<PublicJwk> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('the signing key must be an Ed25519 key');
  const base = { kty: 'OKP', crv: 'Ed25519', x: jwk.x } as const;
  return { ...base, kid: kid ?? (await calculateJwkThumbprint(base)), alg: TOKEN_ALGORITHM, use: 'sig' };
}
