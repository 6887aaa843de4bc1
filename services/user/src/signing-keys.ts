import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { ConfigError, TOKEN_ALGORITHM, type Logger } from '@mini/shared';
import { decodeKeyEncryptionKey, decryptPrivateJwk, encryptPrivateJwk, KeyDecryptionError } from './key-encryption.js';
import type { SigningKeyRepository, StoredSigningKey } from './repository.js';

/** The public half of a signing key, as the JWKS serves it. */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof TOKEN_ALGORITHM;
  use: 'sig';
}

/**
 * The key tokens are signed with now, and every public key tokens may be verified with. Kept in
 * the database, it follows a rotation (`npm run keys:rotate`, another replica) without a restart.
 */
export interface SigningKeys {
  /** The key new tokens are signed with. */
  current(): { kid: string; privateKey: CryptoKey };
  /** The current public key and those retired less than a token lifetime ago. */
  jwks(): { keys: PublicJwk[] };
  /** Verification keys for jose: an unknown kid reads the stored keys again first (a key rotated elsewhere). */
  getKey: JWTVerifyGetKey;
  /** Reads the stored keys again, at most once a second unless `force`d. */
  refresh(options?: { force?: boolean }): Promise<void>;
  /** Stops reading the stored keys periodically. */
  close(): void;
}

/** How often the stored keys are checked for a new generation. */
export const KEY_RELOAD_MS = 5_000;
/**
 * How long a new key is published before it signs. The other services fetch the key set again
 * for an unknown kid at most every 30 s (remoteKeySet's cooldown); once a key has been in the
 * JWKS longer than that, any of them can fetch it the first time it sees a token it signed.
 */
export const KEY_ACTIVATION_MS = 40_000;
// A retired key stays published this much longer than a token lives (the verifiers' clock tolerance and then some).
const RETIRED_KEY_GRACE_SECONDS = 60;
const MIN_REFRESH_INTERVAL_MS = 1_000;

/**
 * Loads the signing keys at start. With `privateKeyPem` (JWT_PRIVATE_KEY) that key is used;
 * otherwise the keys live in this service's database, their private halves encrypted with
 * `encryptionKey` (SIGNING_KEY_ENCRYPTION_KEY; a key that does not decrypt them stops the start):
 * the first replica to boot creates one, every replica checks every `reloadMs` for a newer
 * generation, publishes it at once and signs with it once it has been published for
 * `activationMs`, and the JWKS keeps an older key until the tokens it signed have expired (`ttlSeconds`).
 */
export async function loadSigningKeys({
  privateKeyPem,
  encryptionKey,
  repository,
  logger,
  ttlSeconds = 3600,
  reloadMs = KEY_RELOAD_MS,
  activationMs = KEY_ACTIVATION_MS,
}: {
  privateKeyPem: string;
  /** The setting as configured: 32 bytes in base64; may be empty only with `privateKeyPem`. */
  encryptionKey: string;
  repository: SigningKeyRepository;
  logger: Logger;
  ttlSeconds?: number;
  reloadMs?: number;
  activationMs?: number;
}): Promise<SigningKeys> {
  if (privateKeyPem) {
    const privateKey = await importPKCS8(privateKeyPem, TOKEN_ALGORITHM, { extractable: true });
    const publicJwk = await publicHalf(await exportJWK(privateKey));
    logger.info({ kid: publicJwk.kid }, 'signing with the key from JWT_PRIVATE_KEY');
    // Sign with a non-extractable copy: nothing later can read the private key back out.
    const current = { kid: publicJwk.kid, privateKey: await importPKCS8(privateKeyPem, TOKEN_ALGORITHM) };
    const jwks = { keys: [publicJwk] };
    return fixedKeys(current, jwks);
  }

  if (!encryptionKey)
    throw new ConfigError('SIGNING_KEY_ENCRYPTION_KEY is required but not set: it encrypts the signing keys kept in the database');
  const kek = decodeKeyEncryptionKey(encryptionKey);
  let stored = await unlockStoredKeys(repository, kek, logger);
  if (stored.length === 0) {
    const created = await createNextSigningKey(repository, kek, 0);
    // Another replica may have won the race: its key must decrypt with this KEK too.
    stored = await unlockStoredKeys(repository, kek, logger);
    if (created && stored[0]?.kid === created.kid) logger.info({ kid: created.kid }, 'created a signing key');
  }
  let state = await keyState(stored, kek, { ttlSeconds, activationMs });
  logger.info({ kid: state.current.kid }, 'signing with the key stored in the database');

  let lastRefresh = Date.now();
  let pending: Promise<void> | undefined;
  const refresh = async ({ force = false } = {}) => {
    if (pending) return pending;
    if (!force && Date.now() - lastRefresh < MIN_REFRESH_INTERVAL_MS) return;
    pending = (async () => {
      try {
        // Every key must decrypt (one stored with another KEK is never published); one stored in the
        // clear, by an earlier version still running during an upgrade, is encrypted first.
        const keys = await unlockStoredKeys(repository, kek, logger);
        if (keys.length === 0) return;
        const next = await keyState(keys, kek, { ttlSeconds, activationMs });
        if (next.current.kid !== state.current.kid)
          logger.info({ kid: next.current.kid, previous: state.current.kid }, 'signing with a rotated key');
        state = next;
      } catch (error) {
        // The database away for a moment, or a key this KEK does not decrypt: keep signing and verifying with the keys already held.
        logger.warn({ reason: (error as Error).message }, 'could not read the signing keys; keeping the ones loaded');
      } finally {
        lastRefresh = Date.now();
        pending = undefined;
      }
    })();
    return pending;
  };
  const timer = setInterval(() => void refresh({ force: true }), reloadMs);
  timer.unref();

  return {
    current: () => state.current,
    jwks: () => state.jwks,
    getKey: async (header, token) => {
      try {
        return await state.keySet(header, token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        await refresh();
        return state.keySet(header, token);
      }
    },
    refresh,
    close: () => clearInterval(timer),
  };
}

/**
 * Stores a new key of generation `newest + 1` (a rotation; 1 on an empty table), its private half
 * encrypted with `kek`, and returns it, or null when another process stored that generation first.
 * Check `kek` with `unlockStoredKeys` first: a key the running services cannot decrypt is never used.
 */
export async function createNextSigningKey(
  repository: SigningKeyRepository,
  kek: Buffer,
  newest?: number,
): Promise<StoredSigningKey | null> {
  const generation = (newest ?? (await repository.findNewestGeneration())) + 1;
  const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = await publicHalf(privateJwk);
  const encryptedPrivateJwk = encryptPrivateJwk({ ...privateJwk }, publicJwk.kid, kek);
  const key = { kid: publicJwk.kid, generation, encryptedPrivateJwk, publicJwk: { ...publicJwk } };
  // Replicas booting together each try generation 1; one insert wins and all re-read it.
  return (await repository.insertSigningKeyIfAbsent(key)) ? key : null;
}

/**
 * Every stored key, once each encrypted one is shown to decrypt with `kek` (else a `ConfigError`
 * naming SIGNING_KEY_ENCRYPTION_KEY, before anything is written) and each one an earlier version
 * stored in the clear has been encrypted with it.
 */
export async function unlockStoredKeys(repository: SigningKeyRepository, kek: Buffer, logger?: Logger): Promise<StoredSigningKey[]> {
  const stored = await repository.findSigningKeys();
  refuseUndecryptable(stored, kek, 'nothing was changed');
  const plaintext = stored.filter((key) => key.encryptedPrivateJwk === null);
  if (plaintext.length === 0) return stored;
  for (const key of plaintext) {
    if (!key.plaintextPrivateJwk) throw new Error(`the stored signing key ${key.kid} has no private key`);
    // Another replica upgrading at the same moment: one UPDATE wins, the other changes nothing.
    await repository.encryptStoredPrivateKey(key.kid, encryptPrivateJwk(key.plaintextPrivateJwk, key.kid, kek));
  }
  logger?.info({ kids: plaintext.map((key) => key.kid) }, 'encrypted the signing keys an earlier version stored in the clear');
  const upgraded = await repository.findSigningKeys();
  refuseUndecryptable(upgraded, kek, 'only keys stored in the clear were encrypted');
  return upgraded;
}

function refuseUndecryptable(stored: StoredSigningKey[], kek: Buffer, outcome: string): void {
  const encrypted = stored.filter((key) => key.encryptedPrivateJwk !== null);
  const locked = encrypted.filter((key) => {
    try {
      decryptPrivateJwk(key.encryptedPrivateJwk!, key.kid, kek);
      return false;
    } catch (error) {
      if (error instanceof KeyDecryptionError) return true;
      throw error;
    }
  });
  if (locked.length === 0) return;
  if (locked.length === encrypted.length)
    throw new ConfigError(
      `SIGNING_KEY_ENCRYPTION_KEY is not the key the signing keys in the database were encrypted with (none of the ${encrypted.length} stored decrypts): set the one they were stored with; ${outcome}`,
    );
  throw new ConfigError(
    `SIGNING_KEY_ENCRYPTION_KEY decrypts the signing keys in the database except kid ${locked.map((key) => key.kid).join(', ')}: that row was altered or copied from another; ${outcome}`,
  );
}

function fixedKeys(current: { kid: string; privateKey: CryptoKey }, jwks: { keys: PublicJwk[] }): SigningKeys {
  const keySet = createLocalJWKSet(jwks);
  return { current: () => current, jwks: () => jwks, getKey: keySet, refresh: async () => undefined, close: () => undefined };
}

/**
 * The newest key published for `activationMs` signs (the only one, on a first boot); every key
 * newer than it is published already, and older ones while a token they signed may be valid.
 */
async function keyState(
  stored: StoredSigningKey[],
  kek: Buffer,
  { ttlSeconds, activationMs }: { ttlSeconds: number; activationMs: number },
) {
  const now = Date.now();
  const activeAt = (key: StoredSigningKey) => (key.createdAt?.getTime() ?? 0) + activationMs;
  // stored is newest first.
  const signing = stored.find((key) => activeAt(key) <= now) ?? stored.at(-1);
  if (!signing) throw new Error('no signing key could be stored or loaded');
  if (signing.encryptedPrivateJwk === null) throw new Error(`the signing key ${signing.kid} is not encrypted yet`);
  const privateJwk = decryptPrivateJwk(signing.encryptedPrivateJwk, signing.kid, kek);
  const privateKey = await importJWK(privateJwk as JWK, TOKEN_ALGORITHM, { extractable: false });
  if (privateKey instanceof Uint8Array) throw new Error('the stored signing key is not an asymmetric private key');
  // Key i retired when key i - 1 began to sign.
  const live = stored.filter((_key, index) => {
    if (index === 0) return true;
    const retiredAt = activeAt(stored[index - 1]!);
    return now - retiredAt < (ttlSeconds + RETIRED_KEY_GRACE_SECONDS) * 1000;
  });
  const jwks = { keys: await Promise.all(live.map((key) => publicHalf(key.publicJwk as JWK, key.kid))) };
  return { current: { kid: signing.kid, privateKey }, jwks, keySet: createLocalJWKSet(jwks) };
}

/** Only the public members of an Ed25519 JWK (never `d`), with its kid (RFC 7638 thumbprint unless stored). */
async function publicHalf(jwk: JWK, kid?: string): Promise<PublicJwk> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('the signing key must be an Ed25519 key');
  const base = { kty: 'OKP', crv: 'Ed25519', x: jwk.x } as const;
  return { ...base, kid: kid ?? (await calculateJwkThumbprint(base)), alg: TOKEN_ALGORITHM, use: 'sig' };
}
