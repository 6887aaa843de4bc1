import {
  ConflictError,
  ForbiddenError,
  isUniqueViolation,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
  type Caller,
  type Logger,
} from '@mini/shared';
import type { Role, User, UserRepository } from './repository.js';
import { USERNAME_UNIQUE_INDEX } from './repository.js';
import { canReadUser } from './rules.js';
import type { PasswordHasher } from './security.js';
import type { TokenIssuer } from './tokens.js';

/** The one answer to bad credentials, whichever half was wrong. */
export const INVALID_CREDENTIALS = 'invalid username or password';

interface Credentials {
  username: string;
  password: string;
}

/** The user service's use cases. */
export function createUserService({
  users,
  passwords,
  issueToken,
}: {
  users: UserRepository;
  passwords: PasswordHasher;
  issueToken: TokenIssuer;
}) {
  return {
    /** Creates a plain user (never an admin) and signs them in. */
    async register({ username, password }: Credentials): Promise<{ user: User; token: string }> {
      const passwordHash = await passwords.hash(password);
      let user: User;
      try {
        // No look-up first: the unique index decides, so two racing sign-ups cannot both win.
        user = await users.insertUser({ username, passwordHash, role: 'user' });
      } catch (error) {
        if (isUniqueViolation(error, USERNAME_UNIQUE_INDEX)) throw new ConflictError('username is already taken');
        throw error;
      }
      return { user, token: await issueToken(user) };
    },

    /** Signs a user in; a wrong username and a wrong password fail alike, in about the same time. */
    async login({ username, password }: Credentials): Promise<{ user: User; token: string }> {
      const found = await users.findCredentials(username);
      const matches = await passwords.verify(found?.passwordHash ?? null, password);
      if (!found || !matches) throw new UnauthorizedError(INVALID_CREDENTIALS);
      const { passwordHash: _hash, ...user } = found;
      return { user, token: await issueToken(user) };
    },

    /** The caller's own account, as stored now (the role may be newer than the token's). */
    async getMe(caller: Caller): Promise<User> {
      const user = await users.findUserById(caller.id);
      // A valid token for an account that is gone is no credential.
      if (!user) throw new UnauthorizedError('account no longer exists');
      return user;
    },

    /** A profile, for its owner or an admin; others learn nothing, not even whether it exists. */
    async getUser(caller: Caller, id: string): Promise<User> {
      if (!canReadUser(caller, id)) throw new ForbiddenError('you may only read your own profile');
      const user = await users.findUserById(id);
      if (!user) throw new NotFoundError('user not found');
      return user;
    },

    listUsers: (page: { limit: number; offset: number }) => users.listUsers(page),

    /** An admin gives a user a role; the last admin cannot be demoted (nobody could promote anyone again). */
    async changeRole(id: string, role: Role): Promise<User> {
      const result = await users.updateRole(id, role);
      if (result === 'not_found') throw new NotFoundError('user not found');
      if (result === 'last_admin') throw new ConflictError('this is the last admin: promote another user first');
      return result;
    },

    /**
     * Changes the caller's own password after checking the current one. Tokens already issued
     * stay valid until they expire (every service verifies them locally, without asking here).
     */
    async changePassword(caller: Caller, { currentPassword, newPassword }: { currentPassword: string; newPassword: string }) {
      const found = await users.findCredentialsById(caller.id);
      if (!found) throw new UnauthorizedError('account no longer exists');
      if (!(await passwords.verify(found.passwordHash, currentPassword))) throw new UnauthorizedError('current password is incorrect');
      if (newPassword === currentPassword) {
        throw new ValidationError('newPassword must differ from the current password', [
          { path: 'newPassword', location: 'body', message: 'newPassword must differ from the current password' },
        ]);
      }
      await users.updatePasswordHash(caller.id, await passwords.hash(newPassword));
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;

/**
 * Creates the admin account at boot unless a user with that name (in any case)
 * exists. It never overwrites one: changing ADMIN_PASSWORD later does not reset it,
 * and replicas booting together insert at most one row.
 */
export async function seedAdmin({
  users,
  passwords,
  username,
  password,
  logger,
}: {
  users: UserRepository;
  passwords: PasswordHasher;
  username: string;
  password: string;
  logger: Logger;
}): Promise<void> {
  const existing = await users.findUserByUsername(username);
  if (!existing) {
    const created = await users.insertUserIfAbsent({ username, passwordHash: await passwords.hash(password), role: 'admin' });
    if (created) {
      logger.info({ userId: created.id, username }, 'admin account created');
      return;
    }
  }
  const current = existing ?? (await users.findUserByUsername(username));
  if (current && current.role !== 'admin') {
    logger.warn(
      { userId: current.id, username: current.username },
      'ADMIN_USERNAME names an existing non-admin user; it was left as it is',
    );
  }
}
