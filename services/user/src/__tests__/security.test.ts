import { describe, expect, test } from 'vitest';
import { createPasswordHasher, PASSWORD_HASH_OPTIONS } from '../security.js';

describe('createPasswordHasher', () => {
  test('never runs more hashes at once than it was given, and answers every one right', async () => {
    const hasher = await createPasswordHasher({ ...PASSWORD_HASH_OPTIONS, memoryCost: 1_024, timeCost: 1 }, { concurrency: 2 });
    const stored = await hasher.hash('right password');
    let most = 0;
    let sampling = true;
    const sample = () => {
      most = Math.max(most, hasher.running);
      if (sampling) setImmediate(sample);
    };
    sample();
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => hasher.verify(i % 3 === 2 ? null : stored, i % 2 === 0 ? 'right password' : 'wrong one')),
    );
    sampling = false;
    expect(most).toBe(2);
    expect(answers).toEqual(Array.from({ length: 24 }, (_, i) => i % 3 !== 2 && i % 2 === 0));
  });
});
