import { Type, type Static } from 'typebox';
import { PageFields, Timestamp, Uuid } from '@mini/shared';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_MAX_LENGTH, USERNAME_MIN_LENGTH, USERNAME_PATTERN } from './rules.js';

export const Username = Type.String({
  minLength: USERNAME_MIN_LENGTH,
  maxLength: USERNAME_MAX_LENGTH,
  pattern: USERNAME_PATTERN,
  description: 'Letters, digits, "_", "." and "-"; unique whatever the case',
  examples: ['alice'],
});

export const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  writeOnly: true,
  examples: ['correct horse battery'],
});

export const RegisterBody = Type.Object({ username: Username, password: Password }, { additionalProperties: false });
export type RegisterBody = Static<typeof RegisterBody>;

// Only shape limits at login: a name that breaks the sign-up rules is simply unknown (401),
// and passwords set under older rules keep working.
export const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: USERNAME_MAX_LENGTH, examples: ['alice'] }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, writeOnly: true, examples: ['correct horse battery'] }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')], { description: 'What the account may do' });

export const ChangeRoleBody = Type.Object({ role: Role }, { additionalProperties: false });
export type ChangeRoleBody = Static<typeof ChangeRoleBody>;

export const ChangePasswordBody = Type.Object(
  {
    // Shape limits only, as at login: a password set under older rules can still be the current one.
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, writeOnly: true }),
    newPassword: Password,
  },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

/** A user as every answer shows it: the response schema keeps hashes out. */
export const User = Type.Object(
  {
    id: Uuid,
    username: Type.String({
      minLength: USERNAME_MIN_LENGTH,
      maxLength: USERNAME_MAX_LENGTH,
      pattern: USERNAME_PATTERN,
      description: 'As typed at sign-up',
    }),
    role: Role,
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);

export const AuthReply = Type.Object(
  {
    user: User,
    token: Type.String({
      // About 450 characters; the bound leaves room for long configured issuer and audience names.
      maxLength: 4096,
      pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
      description: 'EdDSA-signed JWT access token, valid for at most 1 h; send it as `Authorization: Bearer <token>`',
    }),
  },
  { additionalProperties: false },
);

export const UserReply = Type.Object({ user: User }, { additionalProperties: false });

export const UserListReply = Type.Object({ users: Type.Array(User, { maxItems: 100 }), ...PageFields }, { additionalProperties: false });

/** The public half of a signing key: the schema drops anything else (a private `d` never leaves). */
export const PublicJwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ maxLength: 43, pattern: '^[A-Za-z0-9_-]+$', description: 'The public key, base64url' }),
    kid: Type.String({ maxLength: 128, pattern: '^[A-Za-z0-9_-]+$', description: 'The key id that tokens name' }),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false },
);

// The signing key, the next one while it is being published and retired ones while their tokens live: a handful.
export const JwksReply = Type.Object({ keys: Type.Array(PublicJwk, { maxItems: 100 }) }, { additionalProperties: false });
