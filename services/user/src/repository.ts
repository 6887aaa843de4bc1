import { withTransaction, type Caller, type Pool } from '@mini/shared';

export type Role = Caller['role'];

/** A user as the API shows it. */
export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

/** A user with the password hash, for login only; never sent anywhere. */
export interface UserCredentials extends User {
  passwordHash: string;
}

/** A signing key as stored: the public JWK, and the private one encrypted (src/key-encryption.ts). */
export interface StoredSigningKey {
  kid: string;
  generation: number;
  /** The private JWK encrypted with the key-encryption key; null on a row an earlier version stored in the clear. */
  encryptedPrivateJwk: string | null;
  /** The private JWK in the clear, only on such a row, until it is encrypted. */
  plaintextPrivateJwk?: Record<string, unknown> | null;
  publicJwk: Record<string, unknown>;
  /** When it was stored (absent on a key not stored yet); a key retires when the next generation is created. */
  createdAt?: Date;
}

/** Why a role change was refused, when it was. */
export type RoleChangeRefusal = 'not_found' | 'last_admin';

/** The unique index that makes usernames case-insensitively unique. */
export const USERNAME_UNIQUE_INDEX = 'users_username_lower_key';

interface UserRow {
  id: string;
  username: string;
  role: Role;
  created_at: Date;
  password_hash?: string;
}

const USER_COLUMNS = 'id, username, role, created_at';

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, role: row.role, createdAt: row.created_at.toISOString() };
}

/** SQL for the users table. */
export function createUserRepository(db: Pool) {
  return {
    /** Inserts a user; a taken username surfaces as PostgreSQL's unique violation. */
    async insertUser(user: { username: string; passwordHash: string; role: Role }): Promise<User> {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING ${USER_COLUMNS}`,
        [user.username, user.passwordHash, user.role],
      );
      return toUser(rows[0]!);
    },

    /** Inserts a user unless the username is taken (in any case); null when it was. */
    async insertUserIfAbsent(user: { username: string; passwordHash: string; role: Role }): Promise<User | null> {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3)
         ON CONFLICT ((lower(username))) DO NOTHING RETURNING ${USER_COLUMNS}`,
        [user.username, user.passwordHash, user.role],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },

    async findUserById(id: string): Promise<User | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async findUserByUsername(username: string): Promise<User | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1)`, [username]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    /** The user and its hash, matching `username` whatever its case. */
    async findCredentials(username: string): Promise<UserCredentials | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)`, [
        username,
      ]);
      const row = rows[0];
      return row ? { ...toUser(row), passwordHash: row.password_hash! } : null;
    },

    /** The user and its hash by id (a password change checks the current one). */
    async findCredentialsById(id: string): Promise<UserCredentials | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS}, password_hash FROM users WHERE id = $1`, [id]);
      const row = rows[0];
      return row ? { ...toUser(row), passwordHash: row.password_hash! } : null;
    },

    /** Replaces the password hash; false when the user is gone. */
    async updatePasswordHash(id: string, passwordHash: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
      return rowCount === 1;
    },

    /**
     * Gives the user `role`, unless that would leave no admin at all. Every admin row is locked
     * first, so two admins demoting each other at once are serialised and the second one is refused.
     */
    async updateRole(id: string, role: Role): Promise<User | RoleChangeRefusal> {
      return withTransaction(db, async (client) => {
        const { rows: admins } = await client.query<{ id: string }>("SELECT id FROM users WHERE role = 'admin' FOR UPDATE");
        const { rows } = await client.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id]);
        const current = rows[0];
        if (!current) return 'not_found';
        if (current.role === role) return toUser(current);
        if (current.role === 'admin' && admins.length <= 1) return 'last_admin';
        const updated = await client.query<UserRow>(`UPDATE users SET role = $2 WHERE id = $1 RETURNING ${USER_COLUMNS}`, [id, role]);
        return toUser(updated.rows[0]!);
      });
    },

    /** One page in creation order (ties broken by id) and the number of users. */
    async listUsers({ limit, offset }: { limit: number; offset: number }): Promise<{ users: User[]; total: number }> {
      const [page, count] = await Promise.all([
        db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [limit, offset]),
        db.query<{ total: number }>('SELECT count(*) AS total FROM users'),
      ]);
      return { users: page.rows.map(toUser), total: count.rows[0]?.total ?? 0 };
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;

interface SigningKeyRow {
  kid: string;
  generation: number;
  private_jwk: Record<string, unknown> | null;
  private_jwk_encrypted: string | null;
  public_jwk: Record<string, unknown>;
  created_at: Date;
}

/** SQL for the signing_keys table. */
export function createSigningKeyRepository(db: Pool) {
  return {
    /** Every stored key, newest generation first. */
    async findSigningKeys(): Promise<StoredSigningKey[]> {
      const { rows } = await db.query<SigningKeyRow>(
        'SELECT kid, generation, private_jwk, private_jwk_encrypted, public_jwk, created_at FROM signing_keys ORDER BY generation DESC',
      );
      return rows.map((row) => ({
        kid: row.kid,
        generation: row.generation,
        encryptedPrivateJwk: row.private_jwk_encrypted,
        ...(row.private_jwk ? { plaintextPrivateJwk: row.private_jwk } : {}),
        publicJwk: row.public_jwk,
        createdAt: row.created_at,
      }));
    },

    /** The newest generation stored, 0 when there is none (a cheap check for a rotated key). */
    async findNewestGeneration(): Promise<number> {
      const { rows } = await db.query<{ generation: number | null }>('SELECT max(generation) AS generation FROM signing_keys');
      return rows[0]?.generation ?? 0;
    },

    /** Stores `key` unless its generation already has a key (another replica won the race); true when stored. */
    async insertSigningKeyIfAbsent(key: StoredSigningKey & { encryptedPrivateJwk: string }): Promise<boolean> {
      const { rowCount } = await db.query(
        `INSERT INTO signing_keys (kid, generation, algorithm, private_jwk_encrypted, public_jwk) VALUES ($1, $2, 'EdDSA', $3, $4)
         ON CONFLICT (generation) DO NOTHING`,
        [key.kid, key.generation, key.encryptedPrivateJwk, JSON.stringify(key.publicJwk)],
      );
      return rowCount === 1;
    },

    /** Replaces the private key a row holds in the clear by `encrypted`; false when it was encrypted already (by another replica). */
    async encryptStoredPrivateKey(kid: string, encrypted: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE signing_keys SET private_jwk_encrypted = $2, private_jwk = NULL WHERE kid = $1 AND private_jwk_encrypted IS NULL',
        [kid, encrypted],
      );
      return rowCount === 1;
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;
