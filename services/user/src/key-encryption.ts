import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * How the private signing keys are kept in user_db: encrypted with the key-encryption key
 * (SIGNING_KEY_ENCRYPTION_KEY) by AES-256-GCM, as `v1.<iv>.<ciphertext>.<tag>` (base64url each):
 * a random 12-byte IV per key, the private JWK as JSON for plaintext, the key's kid as associated
 * data (a ciphertext copied to another row does not decrypt there), and a version first so a
 * later scheme can sit beside this one.
 */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Thrown when a stored key does not decrypt: another key-encryption key, or a row altered or moved. */
export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

/** Why `value` is no key-encryption key (32 bytes, base64 or base64url: 43 or 44 characters), or null. */
export function keyEncryptionKeyProblem(value: string): string | null {
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value) || Buffer.from(value, 'base64').length !== KEY_BYTES)
    return 'must be 32 random bytes in base64 (openssl rand -base64 32)';
  return null;
}

/** The 32 bytes of a key-encryption key setting (checked with `keyEncryptionKeyProblem` first). */
export function decodeKeyEncryptionKey(value: string): Buffer {
  const problem = keyEncryptionKeyProblem(value);
  if (problem) throw new Error(`the signing key encryption key ${problem}`);
  return Buffer.from(value, 'base64');
}

/** A fresh key-encryption key, as its setting holds it. */
export function generateKeyEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** `privateJwk` encrypted for the row of `kid`. */
export function encryptPrivateJwk(privateJwk: Record<string, unknown>, kid: string, kek: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(privateJwk), 'utf8'), cipher.final()]);
  return [VERSION, iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** The private JWK `encrypted` holds for the row of `kid`; a `KeyDecryptionError` when it does not decrypt with `kek`. */
export function decryptPrivateJwk(encrypted: string, kid: string, kek: Buffer): Record<string, unknown> {
  const [version, iv, ciphertext, tag, ...rest] = encrypted.split('.');
  if (version !== VERSION || iv === undefined || ciphertext === undefined || tag === undefined || rest.length > 0)
    throw new KeyDecryptionError(`the stored key of kid ${kid} is in no format this version knows`);
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new KeyDecryptionError(`the stored key of kid ${kid} is damaged`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(tagBytes);
    const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new KeyDecryptionError(`the stored key of kid ${kid} does not decrypt with this key-encryption key`);
  }
}
