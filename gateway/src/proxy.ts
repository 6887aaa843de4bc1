import { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import httpProxy from '@fastify/http-proxy';
import type { FastifyRequest, FastifySchema, RawServerBase, RouteGenericInterface } from 'fastify';
import type { AppError } from '@mini/shared';
import {
  BadGatewayError,
  GatewayTimeoutError,
  NOT_PROCESSED_HEADER,
  ServiceUnavailableError,
  ValidationError,
  type App,
} from '@mini/shared';
import { forwardedFor, stripHopByHop } from './headers.js';
import { originFormOf, targetPath, unsafePathReason } from './paths.js';
import { sensitiveRouteLimits, type RateLimits } from './rate-limits.js';
import { payloadTooLarge, readBody } from './request-body.js';
import { ATTEMPT_HEADER, PICK_HEADER, type Upstream } from './upstreams.js';

export interface ProxyOptions {
  upstreams: Upstream[];
  /** Time an upstream gets for its answer headers, and between body chunks. */
  timeoutMs: number;
  /** Largest request body forwarded, in bytes. */
  bodyLimit: number;
  /** Whether this request's peer is a proxy whose X-Forwarded-For / Forwarded may be believed. */
  trustsPeer: (request: FastifyRequest) => boolean;
  /** The strict limits on login and register. */
  rateLimits: RateLimits;
}

/** Methods forwarded; anything else (TRACE, CONNECT, ...) is the gateway's 404. */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];
// `hide` comes from @fastify/swagger's type augmentation, which the built @mini/shared types do not carry.
const HIDDEN = { hide: true } as FastifySchema;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
// Tries beyond the first for a request no replica processed (a refused connection, a replica
// shutting down): enough to get past one replica restarting, with a few ms between tries.
const MAX_RETRIES = 3;
// The connection was never made: the request reached no replica.
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const REFUSED = new Set([...NOT_DELIVERED, 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'FST_REPLY_FROM_SERVICE_UNAVAILABLE']);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT']);

/**
 * Forwards each upstream's prefix, every sub-path and method, to that upstream only. A request
 * body is read whole first (at most `bodyLimit` bytes); answers are streamed, never buffered.
 */
export async function registerProxy(app: App, { upstreams, timeoutMs, bodyLimit, trustsPeer, rateLimits }: ProxyOptions): Promise<void> {
  const sensitive = sensitiveRouteLimits(app, rateLimits);

  await app.register(async (scope) => {
    // The proxy routes are plumbing, not API: the combined reference documents the services' own routes.
    scope.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, ...HIDDEN };
    });

    scope.addHook('onRequest', async (request) => {
      // Node keeps the first of several Host headers; two hosts in one request is an ambiguity
      // (RFC 9112 section 3.2 says 400) that a cache or an upstream might read the other way.
      if (countHeader(request.raw.rawHeaders, 'host') > 1) throw new ValidationError('request has more than one Host header');
      const reason = unsafePathReason(targetPath(request.url));
      if (reason) throw new ValidationError(reason);
      const declared = request.headers['content-length'];
      if (declared !== undefined && Number(declared) > bodyLimit) throw payloadTooLarge(bodyLimit);
    });

    // The whole body is read before any upstream is involved (see readBody).
    scope.addHook('preHandler', async (request) => {
      if (request.body instanceof Readable) request.body = await readBody(request.body, bodyLimit);
    });
    scope.addHook('preHandler', sensitive.preHandler);
    scope.addHook('onResponse', sensitive.onResponse);

    for (const upstream of upstreams) {
      // Each upstream in a scope of its own, so its cache (if any) sits in front of its routes only.
      await scope.register(async (own) => {
        if (upstream.cache) {
          const cache = upstream.cache.hooks();
          own.addHook('onRequest', cache.onRequest);
          own.addHook('onSend', cache.onSend);
          own.addHook('onResponse', cache.onResponse);
        }
        await own.register(httpProxy, {
          prefix: upstream.prefix,
          rewritePrefix: upstream.prefix,
          upstream: upstream.origins[0] as string,
          undici: upstream.dispatcher,
          httpMethods: METHODS,
          disableRequestLogging: true,
          internalRewriteLocationHeader: false,
          // An absolute-form target names a host: drop it, the upstream is always ours.
          preRewrite: (url) => originFormOf(url),
          // A read body goes as it came (bytes and content type), never re-encoded as JSON.
          handler: (request, reply, dest, options) =>
            reply.from(
              dest,
              Buffer.isBuffer(request.body)
                ? { ...options, body: request.body, contentType: request.headers['content-type'] ?? 'application/octet-stream' }
                : options,
            ),
          replyOptions: {
            timeout: timeoutMs,
            rewriteRequestHeaders: (request, headers) => {
              const forwarded = forwardedRequestHeaders(request, headers, trustsPeer);
              forwarded[PICK_HEADER] = String(upstream.dispatcher.nextPick());
              delete forwarded[ATTEMPT_HEADER];
              return forwarded;
            },
            rewriteHeaders: (headers, request) => {
              const cleaned = stripHopByHop(headers as IncomingHttpHeaders);
              delete cleaned[NOT_PROCESSED_HEADER];
              if (request) cleaned['x-request-id'] = request.id;
              return cleaned;
            },
            retryDelay: ({ err, req, res, attempt }) => {
              // (`req` is reply-from's outgoing request, typed as a Fastify request.)
              const outgoing = req as unknown as { method: string; headers: IncomingHttpHeaders };
              const delay = retryDelayFor(err, outgoing.method, res as unknown as UpstreamAnswer | undefined, attempt);
              if (delay !== null) outgoing.headers[ATTEMPT_HEADER] = String(attempt + 1);
              return delay;
            },
            onError: (reply, { error }) => {
              void reply.send(upstreamError(upstream.name, error));
            },
          },
        });
      });
    }
  });
}

/** What reply-from hands the retry policy when an upstream answered. */
interface UpstreamAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  stream: Readable;
}

/**
 * When to send a request again (another replica of the pool takes it, as a refused or closing
 * one is skipped): only when no replica can have processed it, so it is safe for any method. A
 * connection that broke after the request was written may have been processed: only
 * idempotent methods are tried again then.
 */
export function retryDelayFor(error: unknown, method: string, answer: UpstreamAnswer | undefined, attempt: number): number | null {
  if (attempt >= MAX_RETRIES) return null;
  const delay = 2 + Math.round(Math.random() * 8 * (attempt + 1));
  if (answer) {
    if (answer.statusCode !== 503 || answer.headers[NOT_PROCESSED_HEADER] === undefined) return null;
    answer.stream.resume();
    return delay;
  }
  const codes = codesOf(error);
  if (codes.some((code) => NOT_DELIVERED.has(code))) return delay;
  // Once: a kept-alive socket the upstream closed just before reuse looks like this too.
  const reset = codes.some((code) => code === 'UND_ERR_SOCKET' || code === 'ECONNRESET');
  if (reset && attempt === 0 && IDEMPOTENT.has(method)) return delay;
  return null;
}

/** The headers an upstream receives: hop-by-hop fields gone, forwarding facts and the request id added. */
function forwardedRequestHeaders(
  request: FastifyRequest<RouteGenericInterface, RawServerBase>,
  headers: IncomingHttpHeaders,
  trustsPeer: (request: FastifyRequest) => boolean,
): IncomingHttpHeaders {
  const trustProxy = trustsPeer(request as unknown as FastifyRequest);
  stripHopByHop(headers);
  // Node already answered `Expect: 100-continue` for this hop.
  delete headers.expect;
  // GET/HEAD bodies, and empty ones, are not forwarded: do not announce one.
  if (request.body === undefined || request.body === null) delete headers['content-length'];
  const peer = request.raw.socket?.remoteAddress;
  if (peer) headers['x-forwarded-for'] = forwardedFor(headers['x-forwarded-for'], peer, trustProxy);
  if (!trustProxy) delete headers.forwarded;
  headers['x-forwarded-proto'] = request.protocol;
  if (request.host) headers['x-forwarded-host'] = request.host;
  else delete headers['x-forwarded-host'];
  headers['x-request-id'] = request.id;
  return headers;
}

function codesOf(error: unknown): string[] {
  const own = (error as { code?: unknown })?.code;
  const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
  return [cause, own].filter((code): code is string => typeof code === 'string');
}

/** What the client sees when an upstream fails before answering: never reply-from's own error body. */
export function upstreamError(name: string, error: unknown): AppError {
  const codes = codesOf(error);
  if (codes.some((code) => TIMED_OUT.has(code))) return new GatewayTimeoutError(`${name} timed out`, { cause: error });
  if (codes.some((code) => REFUSED.has(code))) return new ServiceUnavailableError(`${name} is unavailable`, { cause: error });
  return new BadGatewayError(`${name} sent a broken answer`, { cause: error });
}

function countHeader(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count += 1;
  return count;
}
