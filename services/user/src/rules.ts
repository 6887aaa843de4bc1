import type { Caller } from '@mini/shared';

export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 32;
/** Letters, digits, `_`, `.` and `-` (ASCII only, so case folding is the same in JS and PostgreSQL). */
export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]+$';
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

const USERNAME = new RegExp(USERNAME_PATTERN);

/** Why `username` cannot name an account, or null when it can. The route schema applies the same rule. */
export function usernameProblem(username: string): string | null {
  if (username.length < USERNAME_MIN_LENGTH || username.length > USERNAME_MAX_LENGTH) {
    return `must be ${USERNAME_MIN_LENGTH} to ${USERNAME_MAX_LENGTH} characters long`;
  }
  if (!USERNAME.test(username)) return 'may only contain letters, digits, "_", "." and "-"';
  return null;
}

/** Why `password` cannot be a password, or null when it can. Lengths count characters, as the JSON schema does. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`;
  }
  return null;
}

/** A profile is readable by its owner and by admins. */
export function canReadUser(caller: Caller, userId: string): boolean {
  // A UUID is the same id in either case (the path takes both; PostgreSQL compares them so).
  return caller.role === 'admin' || caller.id.toLowerCase() === userId.toLowerCase();
}
