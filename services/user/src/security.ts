import { randomBytes } from 'node:crypto';
import { hash, verify, type Options } from '@node-rs/argon2';

/**
 * argon2id with the OWASP Password Storage Cheat Sheet's first option:
 * 19 MiB of memory, 2 passes, 1 lane.
 */
export const PASSWORD_HASH_OPTIONS: Options = {
  // Algorithm.Argon2id; the enum is an ambient const enum, which isolated modules cannot read.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Hashes and checks passwords on the libuv thread pool, never on the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `storedHash`. With no stored hash (unknown
   * user) it still runs one full verification and answers false, so an unknown
   * username costs as much time as a wrong password.
   */
  verify(storedHash: string | null, password: string): Promise<boolean>;
}

/** Builds the hasher; computes the stand-in hash for unknown users once, here. */
export async function createPasswordHasher(options: Options = PASSWORD_HASH_OPTIONS): Promise<PasswordHasher> {
  const dummyHash = await hash(randomBytes(32).toString('base64url'), options);
  return {
    hash: (password) => hash(password, options),
    async verify(storedHash, password) {
      try {
        const matches = await verify(storedHash ?? dummyHash, password);
        return storedHash !== null && matches;
      } catch {
        // An unreadable stored hash never lets anyone in.
        return false;
      }
    },
  };
}
