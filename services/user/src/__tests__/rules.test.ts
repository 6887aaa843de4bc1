import { describe, expect, test } from 'vitest';
import { canReadUser, passwordProblem, usernameProblem } from '../rules.js';

describe('usernameProblem', () => {
  test.each(['abc', 'Alice', 'a.b-c_d', '123', 'x'.repeat(32)])('accepts %s', (name) => {
    expect(usernameProblem(name)).toBeNull();
  });

  test.each(['ab', 'x'.repeat(33), 'with space', 'émile', 'semi;colon', 'new\nline', ''])('refuses %j', (name) => {
    expect(usernameProblem(name)).toEqual(expect.any(String));
  });
});

describe('passwordProblem', () => {
  test('accepts 8 to 128 characters', () => {
    expect(passwordProblem('x'.repeat(8))).toBeNull();
    expect(passwordProblem('x'.repeat(128))).toBeNull();
  });

  test('refuses 7 or 129 characters', () => {
    expect(passwordProblem('x'.repeat(7))).toEqual(expect.any(String));
    expect(passwordProblem('x'.repeat(129))).toEqual(expect.any(String));
  });

  test('counts characters, not UTF-16 units: 8 emoji are 8 characters, as for the request schema', () => {
    expect(passwordProblem('🔑'.repeat(8))).toBeNull();
    expect(passwordProblem('🔑'.repeat(65))).toBeNull();
    expect(passwordProblem('🔑'.repeat(129))).toEqual(expect.any(String));
  });
});

describe('canReadUser', () => {
  const id = '6f1c1f8e-6a4e-4c43-9a55-2b1f0f3f4f55';
  test('the owner and admins may read a profile; other users may not', () => {
    expect(canReadUser({ id, username: 'me', role: 'user' }, id)).toBe(true);
    expect(canReadUser({ id: 'other', username: 'boss', role: 'admin' }, id)).toBe(true);
    expect(canReadUser({ id: 'other', username: 'you', role: 'user' }, id)).toBe(false);
  });

  test('the owner may spell their own id in upper case', () => {
    expect(canReadUser({ id, username: 'me', role: 'user' }, id.toUpperCase())).toBe(true);
  });
});
