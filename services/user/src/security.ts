import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hash, verify, type Options } from '@node-rs/argon2';
import pLimit from 'p-limit';

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

/**
 * Builds the hasher; computes the stand-in hash for unknown users once, here. At most
 * `concurrency` hashes run at once (default: one per core): more would not finish sooner, only
 * hold 19 MiB each and the thread pool's other threads (DNS lookups, files) meanwhile.
 */
export async function createPasswordHasher(
  options: Options = PASSWORD_HASH_OPTIONS,
  { concurrency = availableParallelism() }: { concurrency?: number } = {},
): Promise<PasswordHasher & { readonly running: number }> {
  const limit = pLimit(concurrency);
  const dummyHash = await hash(randomBytes(32).toString('base64url'), options);
  return {
    get running() {
      return limit.activeCount;
    },
    hash: (password) => limit(() => hash(password, options)),
    async verify(storedHash, password) {
      try {
        const matches = await limit(() => verify(storedHash ?? dummyHash, password));
        return storedHash !== null && matches;
      } catch {
        // An unreadable stored hash never lets anyone in.
        return false;
      }
    },
  };
}
