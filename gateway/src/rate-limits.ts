import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitedError, type App, type Logger } from '@mini/shared';
import { redisStoreWithFallback } from './rate-limit-store.js';
import { targetPath } from './paths.js';

/** Requests allowed per window; 0 turns a limit off. */
export interface RateLimits {
  /** Any request, per client, per minute. */
  perMinute: number;
  /** `POST /users/login`, per client, per minute. */
  loginPerMinute: number;
  /** Failed logins (401) per username per 15 minutes: guessing one account's password. */
  loginFailuresPerUsername: number;
  /** `POST /users/register`, per client, per minute. */
  registerPerMinute: number;
}

export const NO_RATE_LIMITS: RateLimits = { perMinute: 0, loginPerMinute: 0, loginFailuresPerUsername: 0, registerPerMinute: 0 };

const MINUTE_MS = 60_000;
const LOGIN_FAILURE_WINDOW_MS = 15 * MINUTE_MS;
const PROBES = new Set(['/healthz', '/readyz']);

type Check = Awaited<ReturnType<ReturnType<App['createRateLimit']>>>;

/**
 * A general per-client limit on every route but the probes, registered on the whole app.
 * Counters live in Redis when one is given (shared by gateway replicas), else in memory.
 */
export async function registerRateLimits(app: App, { limits, redis, logger }: { limits: RateLimits; redis?: Redis; logger: Logger }) {
  await app.register(rateLimit, {
    global: limits.perMinute > 0,
    max: limits.perMinute,
    timeWindow: MINUTE_MS,
    // The client's address as Fastify resolves it: the peer, or what a trusted proxy says.
    keyGenerator: (request) => `client:${request.ip}`,
    allowList: (request) => PROBES.has(request.routeOptions.url ?? ''),
    enableDraftSpec: true,
    ...(redis ? { store: redisStoreWithFallback(redis, logger) } : {}),
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.ttl / 1000, `too many requests: retry in ${context.after}`),
  });
}

/**
 * The strict limits on signing up and signing in, as hooks for the proxy's scope: they run after
 * the body has been read (the username is in it). Login attempts are counted per client; failed
 * ones also per username, which caps guessing one account's password from many addresses.
 */
export function sensitiveRouteLimits(app: App, limits: RateLimits) {
  const login = app.createRateLimit({ max: limits.loginPerMinute, timeWindow: MINUTE_MS, keyGenerator: (r) => `login:${r.ip}` });
  const register = app.createRateLimit({ max: limits.registerPerMinute, timeWindow: MINUTE_MS, keyGenerator: (r) => `register:${r.ip}` });
  const loginFailures = app.createRateLimit({
    max: limits.loginFailuresPerUsername,
    timeWindow: LOGIN_FAILURE_WINDOW_MS,
    keyGenerator: (r) => `login-failures:${usernameOf(r.body)}`,
  });

  return {
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      const route = sensitiveRoute(request);
      if (route === 'register' && limits.registerPerMinute > 0) refuseIfExceeded(reply, await register(request));
      if (route !== 'login') return;
      if (limits.loginPerMinute > 0) refuseIfExceeded(reply, await login(request));
      if (limits.loginFailuresPerUsername > 0 && usernameOf(request.body) !== undefined) {
        // A peek (failures are counted once they happen, below): refused once the allowance is used up.
        const failures = await loginFailures(request, { increment: false });
        if (!failures.isAllowed) refuseIfExceeded(reply, { ...failures, isExceeded: failures.remaining <= 0 });
      }
    },
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      if (reply.statusCode !== 401 || limits.loginFailuresPerUsername === 0) return;
      if (sensitiveRoute(request) === 'login' && usernameOf(request.body) !== undefined) await loginFailures(request);
    },
  };
}

function refuseIfExceeded(reply: FastifyReply, check: Check): void {
  if (check.isAllowed || !check.isExceeded) return;
  reply.header('ratelimit-limit', check.max).header('ratelimit-remaining', 0).header('ratelimit-reset', check.ttlInSeconds);
  throw new RateLimitedError(check.ttlInSeconds, `too many attempts: retry in ${check.ttlInSeconds} s`);
}

/** `login` or `register` when the request reaches that route of the user service (as its router reads the path). */
function sensitiveRoute(request: FastifyRequest): 'login' | 'register' | undefined {
  if (request.method !== 'POST') return undefined;
  let path: string;
  try {
    path = decodeURIComponent(targetPath(request.url));
  } catch {
    return undefined;
  }
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '/users/login') return 'login';
  if (path === '/users/register') return 'register';
  return undefined;
}

/** The username a login body names, as the user service compares it (case-insensitively). */
function usernameOf(body: unknown): string | undefined {
  if (!Buffer.isBuffer(body) || body.length > 4096) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { username?: unknown };
    return typeof parsed.username === 'string' && parsed.username.length > 0 ? parsed.username.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
