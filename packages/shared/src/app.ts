import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyError,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErrorObject } from 'ajv';
import { isDatabaseUnavailable } from './db.js';
import { AppError, codeForStatus, errorEnvelope, PayloadTooLargeError, ServiceUnavailableError, ValidationError } from './errors.js';
import type { Logger } from './logger.js';
import { BearerAuthScheme, ProbeSchemas } from './schemas.js';
import { withTimeout } from './timeout.js';
import { toValidationError, validatorCompiler } from './validation.js';

/** A Fastify instance typed for TypeBox route schemas. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A named readiness probe: resolves when the dependency answers. */
export type ReadinessCheck = () => Promise<unknown>;

export interface CreateAppOptions {
  serviceName: string;
  logger: Logger;
  /** Registers this service's routes. */
  routes?: (app: App) => void | Promise<void>;
  /** Checks `/readyz` runs; all must pass for a 200. */
  readiness?: Record<string, ReadinessCheck>;
  /**
   * Checks `/readyz` reports without failing on: a dependency whose outage the service rides out
   * (a broker behind an outbox), so taking the service out of rotation would only add an outage.
   */
  degradedBy?: Record<string, ReadinessCheck>;
  /** OpenAPI info; the document is served at `/openapi.json`. */
  openapi?: { title: string; version: string; description?: string };
  /** Body limit in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Trust `X-Forwarded-*` from these proxies (Fastify's trustProxy). */
  trustProxy?: boolean | string | string[] | ((address: string, hop: number) => boolean);
  /** Deadlines for slow and idle clients (defaults: `DEFAULT_CLIENT_TIMEOUTS`). */
  clientTimeouts?: Partial<ClientTimeouts>;
}

/** How long a client may take, at the socket level, before it is answered 408 or cut off. */
export interface ClientTimeouts {
  /** From the connection (or the end of the previous request) to the last header byte. */
  headersMs: number;
  /** For the whole request, body included. */
  requestMs: number;
  /** How long an idle kept-alive socket stays open. */
  keepAliveMs: number;
  /** A socket with no traffic either way for this long is closed (covers a client that never reads). */
  idleSocketMs: number;
}

export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, idleSocketMs: 60_000 };
// How often Node looks for requests over their header or request deadline (its default, 30 s, lets
// a slow client live up to 30 s past either).
const DEADLINE_CHECK_INTERVAL_MS = 500;

/** A header on the 503 a closing process answers: the request was not processed, so any replica may take it. */
export const NOT_PROCESSED_HEADER = 'x-not-processed';

interface Lifecycle {
  /** Not ready any more; every answer closes its connection so clients move to another replica. */
  draining: boolean;
  /** Closing: a request that still arrives is answered 503 without being processed. */
  closing: boolean;
}
const lifecycles = new WeakMap<object, Lifecycle>();

/**
 * The first step of a graceful shutdown: `/readyz` answers 503 and every answer carries
 * `Connection: close`, so kept-alive clients leave one by one while requests are still served.
 */
export function beginDraining(app: App): void {
  const lifecycle = lifecycles.get(app);
  if (lifecycle) lifecycle.draining = true;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Fastify's log controller, except that an answer cut short by the client hanging up is not a warning. */
class ClientAbortsLogController extends LogController {
  override streamError(error: Error, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    // The `client aborted` line (onRequestAbort below) has said it already.
    if (reply.raw.destroyed && request.raw.destroyed) return;
    super.streamError(error, request, reply, metadata);
  }
}
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const READINESS_TIMEOUT_MS = 2_000;

/** Maps anything thrown in a request to the error the client sees. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
  if (e?.validation) return toValidationError(e.validationContext ?? 'request', e.validation);
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError('request body is too large');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ValidationError('malformed JSON body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ValidationError('body must not be empty when content-type is application/json');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported content-type: send application/json', { status: 415, code: 'unsupported_media_type' });
  }
  if (e instanceof SyntaxError || e?.name === 'SyntaxError') return new ValidationError('malformed JSON body');
  // A database that is down, stalled or over its statement time limit is an outage (503), not a bug.
  if (isDatabaseUnavailable(error)) return new ServiceUnavailableError('the database is unavailable', { cause: error });
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new AppError(e.message || 'Bad Request', { status, code: codeForStatus(status) });
  return new AppError('Internal Server Error');
}

/**
 * The app every process starts from: JSON in and out, request ids, `/healthz`,
 * `/readyz`, `/openapi.json`, the 404 and the error envelope.
 */
export async function createApp({
  serviceName,
  logger,
  routes,
  readiness = {},
  degradedBy = {},
  openapi,
  bodyLimit = DEFAULT_BODY_LIMIT,
  trustProxy = false,
  clientTimeouts,
}: CreateAppOptions): Promise<App> {
  if (!serviceName) throw new Error('serviceName is required');
  const timeouts = { ...DEFAULT_CLIENT_TIMEOUTS, ...clientTimeouts };
  const lifecycle: Lifecycle = { draining: false, closing: false };
  // App is typed with Fastify's base logger: widen pino's Logger to it so the instance's type matches App.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit,
    trustProxy,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new ClientAbortsLogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A request arriving while the app closes gets the envelope (the onRequest hook below), not Fastify's own body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    serverFactory: (handler: (request: IncomingMessage, response: ServerResponse) => void): Server =>
      createServer(
        {
          headersTimeout: timeouts.headersMs,
          requestTimeout: timeouts.requestMs,
          keepAliveTimeout: timeouts.keepAliveMs,
          connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
        },
        handler,
      ).setTimeout(timeouts.idleSocketMs),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors Fastify raises before routing (a broken %-escape, an over-long parameter) get the envelope too.
    frameworkErrors: (error, _request, reply) => {
      const appError = toAppError(error);
      void (reply as FastifyReply).code(appError.status).send(errorEnvelope(appError.code, appError.message, appError.details));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('caller', null);
  lifecycles.set(app, lifecycle);
  app.addHook('preClose', async () => {
    lifecycle.draining = true;
    lifecycle.closing = true;
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (lifecycle.draining) reply.header('connection', 'close');
    if (lifecycle.closing) {
      throw new AppError(`${serviceName} is shutting down`, {
        status: 503,
        code: 'service_unavailable',
        headers: { connection: 'close', 'retry-after': '1', [NOT_PROCESSED_HEADER]: 'shutting-down' },
      });
    }
    // Every answer is JSON (or the docs): never let a browser guess otherwise.
    reply.header('x-content-type-options', 'nosniff');
    // Answers to a signed-in caller, and everything under /users (tokens, profiles), are personal:
    // no shared or browser cache may keep them. Public catalog reads stay cacheable.
    if (request.headers.authorization !== undefined || request.url.startsWith('/users')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });
  // A client that hangs up before its answer is not an error here: one info line, in place of
  // `request completed` (which never comes), and nothing from the error handler below.
  app.addHook('onRequestAbort', async (request) => {
    request.log.info({ method: request.method, url: request.url }, 'client aborted');
  });

  // Text PostgreSQL cannot store as sent: a NUL character (a 500 from the database) or half of a
  // UTF-16 surrogate pair (silently stored as U+FFFD). Refused at the edge with a 400.
  app.addHook('preValidation', async (request) => {
    for (const [location, value] of [
      ['body', request.body],
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      const path = pathOfUnstorableText(value);
      if (path !== undefined) {
        const message = 'must not contain a NUL character or an unpaired surrogate';
        throw new ValidationError(`${path || location} ${message}`, [{ path: path || location, location, message }]);
      }
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    // The client is gone (its answer cannot be delivered): the abort was logged once already.
    if (reply.raw.destroyed && request.raw.destroyed)
      return reply.code(appError.status).send(errorEnvelope(appError.code, appError.message));
    if (appError.status === 500) request.log.error({ err: error, code: appError.code }, 'request failed');
    // A dependency that is down fails every request alike: one short line each, no stack trace.
    else if (appError.status > 500)
      request.log.warn({ code: appError.code, reason: appError.message, cause: causeOf(appError) }, 'dependency failed');
    else request.log.info({ code: appError.code, status: appError.status, reason: appError.message }, 'request rejected');
    return reply
      .code(appError.status)
      .headers(appError.headers)
      .send(errorEnvelope(appError.code, appError.message, appError.details));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorEnvelope('not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapi ?? { title: serviceName, version: '0.1.0' },
      components: { securitySchemes: { bearerAuth: BearerAuthScheme } },
    },
    transform: ({ schema, url }) => ({ schema: withOptionalDefaults(schema), url }),
  });

  // Hidden from a service's own document; the gateway documents its probes with these schemas.
  app.get('/healthz', { schema: { ...ProbeSchemas.health, hide: true } }, async () => ({
    service: serviceName,
    status: 'ok',
    uptime: process.uptime(),
  }));

  app.get('/readyz', { schema: { ...ProbeSchemas.readiness, hide: true } }, async (_request, reply) => {
    if (lifecycle.draining) return reply.code(503).send(errorEnvelope('service_unavailable', `${serviceName} is shutting down`));
    const run = async ([name, check]: [string, ReadinessCheck], critical: boolean) => {
      try {
        await withTimeout(check(), READINESS_TIMEOUT_MS);
        return { name, critical, status: 'ok' };
      } catch {
        return { name, critical, status: 'down' };
      }
    };
    const results = await Promise.all([
      ...Object.entries(readiness).map((entry) => run(entry, true)),
      ...Object.entries(degradedBy).map((entry) => run(entry, false)),
    ]);
    const checks = Object.fromEntries(results.map((r) => [r.name, r.status]));
    const down = results.filter((r) => r.status !== 'ok' && r.critical);
    if (down.length === 0) {
      const degraded = results.some((r) => r.status !== 'ok');
      return { service: serviceName, status: degraded ? 'degraded' : 'ready', checks };
    }
    return reply.code(503).send(
      errorEnvelope(
        'service_unavailable',
        `not ready: ${down.map((r) => r.name).join(', ')} down`,
        down.map((r) => ({ path: r.name, message: 'down' })),
      ),
    );
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (routes) await app.register(async (scope) => routes(scope as unknown as App));
  return app;
}

type QuerySchema = { required?: string[]; properties?: Record<string, { default?: unknown }> };

// A query parameter with a default is optional for the client, though required in the validated
// (defaults-filled) value the handler sees; say so in the OpenAPI document.
function withOptionalDefaults<S extends { querystring?: unknown } | undefined>(schema: S): S {
  const query = schema?.querystring as QuerySchema | undefined;
  if (!query?.required) return schema;
  const required = query.required.filter((name) => query.properties?.[name]?.default === undefined);
  return { ...schema, querystring: { ...query, required } };
}

function causeOf(error: Error): string | undefined {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (!cause) return undefined;
  return typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : undefined;
}

// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The dotted path of the first string PostgreSQL cannot store as sent ('' for the value itself), or undefined. */
function pathOfUnstorableText(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return UNSTORABLE_TEXT.test(value) ? path : undefined;
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  // A body the app leaves unparsed (the gateway streams it on) is a stream: its object graph is
  // endless to walk and blocked the event loop. Only parsed values are looked into.
  if (typeof (value as { pipe?: unknown }).pipe === 'function' || Buffer.isBuffer(value)) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = pathOfUnstorableText(inner, path ? `${path}.${key}` : key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
