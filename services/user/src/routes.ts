import { Type } from 'typebox';
import {
  adminOnly,
  authRequired,
  callerOf,
  errorResponses,
  IdParams,
  PaginationQuery,
  PUBLIC,
  type App,
  type TokenVerifier,
} from '@mini/shared';
import { AuthReply, ChangePasswordBody, ChangeRoleBody, JwksReply, LoginBody, RegisterBody, UserListReply, UserReply } from './schemas.js';
import type { UserService } from './service.js';
import type { SigningKeys } from './signing-keys.js';

const tags = ['users'];
const security = [{ bearerAuth: [] }];

/** The user service's routes: thin handlers around the service. */
export function userRoutes({
  service,
  verifyToken,
  jwks,
}: {
  service: UserService;
  verifyToken: TokenVerifier;
  /** The public keys to publish now (read again when another replica may have rotated). */
  jwks: () => Promise<ReturnType<SigningKeys['jwks']>>;
}) {
  const signedIn = authRequired(verifyToken);

  return (app: App) => {
    app.post(
      '/users/register',
      {
        schema: {
          operationId: 'registerUser',
          tags,
          summary: 'Create an account',
          description:
            'Creates a plain user and signs them in. Unknown fields, a `role` included, are rejected; a username taken in any case is a 409.',
          security: PUBLIC,
          body: RegisterBody,
          response: { 201: AuthReply, ...errorResponses(400, 409, 413, 415, 500, 503) },
        },
      },
      async (request, reply) => reply.code(201).send(await service.register(request.body)),
    );

    app.post(
      '/users/login',
      {
        schema: {
          operationId: 'login',
          tags,
          summary: 'Sign in',
          description: 'A wrong username and a wrong password answer the same 401, in about the same time.',
          security: PUBLIC,
          body: LoginBody,
          response: { 200: AuthReply, ...errorResponses(400, 401, 413, 415, 500, 503) },
        },
      },
      async (request) => service.login(request.body),
    );

    app.get(
      '/users/me',
      {
        onRequest: [signedIn],
        schema: {
          operationId: 'getCurrentUser',
          tags,
          summary: 'The signed-in user',
          description: 'The account the token names; 401 if it no longer exists.',
          security,
          response: { 200: UserReply, ...errorResponses(400, 401, 500, 503) },
        },
      },
      async (request) => ({ user: await service.getMe(callerOf(request)) }),
    );

    app.get(
      '/users/:id',
      {
        onRequest: [signedIn],
        schema: {
          operationId: 'getUser',
          tags,
          summary: 'A user by id',
          description: 'The user themselves or an admin; anyone else gets 403.',
          security,
          params: IdParams,
          response: { 200: UserReply, ...errorResponses(400, 401, 403, 404, 500, 503) },
        },
      },
      async (request) => ({ user: await service.getUser(callerOf(request), request.params.id) }),
    );

    app.post(
      '/users/me/password',
      {
        onRequest: [signedIn],
        schema: {
          operationId: 'changePassword',
          tags,
          summary: 'Change your password',
          description:
            'Needs the current password (a wrong one is a 401). Tokens issued before the change stay valid until they expire; sign in again for a new one.',
          security,
          body: ChangePasswordBody,
          response: { 204: Type.Null({ description: 'Changed' }), ...errorResponses(400, 401, 413, 415, 500, 503) },
        },
      },
      async (request, reply) => {
        await service.changePassword(callerOf(request), request.body);
        return reply.code(204).send(null);
      },
    );

    app.patch(
      '/users/:id',
      {
        onRequest: [signedIn, adminOnly],
        schema: {
          operationId: 'changeUserRole',
          tags,
          summary: "Change a user's role (admin)",
          description:
            'Promotes a user to admin or back. The last admin cannot be demoted (409). The new role is in tokens issued from then on; one issued before keeps its role until it expires.',
          security,
          params: IdParams,
          body: ChangeRoleBody,
          response: { 200: UserReply, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 500, 503) },
        },
      },
      async (request) => ({ user: await service.changeRole(request.params.id, request.body.role) }),
    );

    app.get(
      '/users',
      {
        onRequest: [signedIn, adminOnly],
        schema: {
          operationId: 'listUsers',
          tags,
          summary: 'All users (admin)',
          description: 'In creation order, paginated.',
          security,
          querystring: PaginationQuery,
          response: { 200: UserListReply, ...errorResponses(400, 401, 403, 500, 503) },
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        return { ...(await service.listUsers({ limit, offset })), limit, offset };
      },
    );

    app.get(
      '/.well-known/jwks.json',
      {
        schema: {
          operationId: 'getTokenKeys',
          tags: ['keys'],
          summary: 'Public keys that verify access tokens',
          description: 'A JSON Web Key Set (RFC 7517) for local token verification by the other services.',
          security: PUBLIC,
          response: { 200: JwksReply, ...errorResponses(400, 500, 503) },
        },
      },
      async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(await jwks()),
    );
  };
}
