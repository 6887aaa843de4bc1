import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, ServiceUnavailableError, UnauthorizedError } from './errors.js';

/** Who is calling, as the access token says. */
export interface Caller {
  id: string;
  username: string;
  role: 'user' | 'admin';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authRequired`; null on public routes. */
    caller: Caller | null;
  }
}

/** The one signing algorithm accepted: tokens with any other `alg` are refused. */
export const TOKEN_ALGORITHM = 'EdDSA';

/** Turns a bearer token into a `Caller`, or throws 401 (bad token) / 503 (keys unreachable). */
export type TokenVerifier = (token: string) => Promise<Caller>;

// What the token itself got wrong: a 401. Anything else (the key set unreachable, a bad key set
// answer) is our outage: a 503, so clients keep a token that is fine.
const TOKEN_FAULTS = [
  errors.JWTExpired,
  errors.JWTClaimValidationFailed,
  errors.JWTInvalid,
  errors.JWSInvalid,
  errors.JWSSignatureVerificationFailed,
  errors.JWKSNoMatchingKey,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

function isTokenFault(error: unknown): boolean {
  return TOKEN_FAULTS.some((fault) => error instanceof fault);
}

/**
 * The user service's public keys, fetched once and kept; fetched again only when a token names
 * an unknown `kid` (a rotated key). No periodic refetch: an outage of the user service must not
 * stop the other services from verifying tokens with keys they already hold. `jwksUrls` may list
 * each user-service replica's key set (comma-separated): one that cannot be reached (a replica
 * restarting) is passed for the next, so a service started meanwhile still gets the keys.
 */
export function remoteKeySet(jwksUrls: string): JWTVerifyGetKey {
  const sets = jwksUrls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '')
    .map((url) => createRemoteJWKSet(new URL(url), { timeoutDuration: 2_000, cooldownDuration: 30_000, cacheMaxAge: Infinity }));
  if (sets.length === 1) return sets[0]!;
  let preferred = 0;
  return async (protectedHeader, token) => {
    let lastError: unknown;
    for (let i = 0; i < sets.length; i++) {
      const index = (preferred + i) % sets.length;
      try {
        const key = await sets[index]!(protectedHeader, token);
        preferred = index;
        return key;
      } catch (error) {
        if (isTokenFault(error)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  };
}

/** The longest an access token may live (exp - iat) unless a service is told otherwise: the design's 1 h. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600;
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * A verifier pinned to EdDSA that checks `iss`, `aud`, `exp` and the claims the platform relies
 * on, and refuses a token issued in the future or living longer than `maxLifetimeSeconds`
 * (a correctly signed token that never expires is still a leak waiting to happen).
 */
export function createTokenVerifier({
  keys,
  issuer,
  audience,
  maxLifetimeSeconds = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
}: {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  maxLifetimeSeconds?: number;
}): TokenVerifier {
  return async (token) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: [TOKEN_ALGORITHM],
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      if (!isTokenFault(error)) {
        throw new ServiceUnavailableError('token keys are unavailable', { cause: error });
      }
      throw new UnauthorizedError(error instanceof errors.JWTExpired ? 'token expired' : 'invalid token');
    }
    const { sub, username, role, iat, exp } = payload;
    const now = Date.now() / 1000;
    if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now + CLOCK_TOLERANCE_SECONDS || exp - iat > maxLifetimeSeconds) {
      throw new UnauthorizedError('invalid token');
    }
    if (typeof sub !== 'string' || typeof username !== 'string' || (role !== 'user' && role !== 'admin')) {
      throw new UnauthorizedError('invalid token');
    }
    return { id: sub, username, role };
  };
}

const BEARER = /^Bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+)$/i;

/** An `onRequest` hook that requires a valid bearer token and sets `request.caller`. */
export function authRequired(verify: TokenVerifier) {
  return async function authRequiredHook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw new UnauthorizedError('missing or malformed bearer token');
    request.caller = await verify(match[1]);
  };
}

/** An `onRequest` hook, after `authRequired`, that lets only admins through (403 otherwise). */
export async function adminOnly(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!request.caller) throw new UnauthorizedError('missing or malformed bearer token');
  if (request.caller.role !== 'admin') throw new ForbiddenError('admin role required');
}

/** The caller of a route guarded by `authRequired`. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new UnauthorizedError('missing or malformed bearer token');
  return request.caller;
}
