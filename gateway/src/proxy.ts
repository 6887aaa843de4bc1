import { Readable, Transform } from 'node:stream';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import httpProxy from '@fastify/http-proxy';
import type { FastifyRequest, FastifySchema, RawServerBase, RouteGenericInterface } from 'fastify';
import { AppError, BadGatewayError, GatewayTimeoutError, ServiceUnavailableError, ValidationError, type App } from '@mini/shared';
import { forwardedFor, stripHopByHop } from './headers.js';
import { originFormOf, targetPath, unsafePathReason } from './paths.js';
import type { Upstream } from './upstreams.js';

export interface ProxyOptions {
  upstreams: Upstream[];
  /** Time an upstream gets for its answer headers, and between body chunks. */
  timeoutMs: number;
  /** Largest request body forwarded, in bytes. */
  bodyLimit: number;
  /** Whether the peer is a proxy whose X-Forwarded-For / Forwarded may be believed. */
  trustProxy: boolean;
}

/** Methods forwarded; anything else (TRACE, CONNECT, ...) is the gateway's 404. */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];
// `hide` comes from @fastify/swagger's type augmentation, which the built @mini/shared types do not carry.
const HIDDEN = { hide: true } as FastifySchema;
const IDEMPOTENT_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);
const REFUSED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'FST_REPLY_FROM_SERVICE_UNAVAILABLE',
]);
const TIMED_OUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT']);

/**
 * Forwards each upstream's prefix, every sub-path and method, to that
 * upstream only. Bodies and answers are streamed, never buffered or parsed.
 */
export async function registerProxy(app: App, { upstreams, timeoutMs, bodyLimit, trustProxy }: ProxyOptions): Promise<void> {
  // Requests whose streamed body went over the limit: their upstream error becomes a 413.
  const overLimit = new WeakSet<object>();

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

    // A body without Content-Length (chunked) is counted while it streams through.
    scope.addHook('preHandler', async (request) => {
      if (request.body instanceof Readable && request.headers['content-length'] === undefined) {
        request.body = limitBody(request.raw, request.body, bodyLimit, () => overLimit.add(request));
      }
    });

    for (const upstream of upstreams) {
      await scope.register(httpProxy, {
        prefix: upstream.prefix,
        rewritePrefix: upstream.prefix,
        upstream: upstream.origins[0] as string,
        undici: upstream.dispatcher,
        httpMethods: METHODS,
        disableRequestLogging: true,
        internalRewriteLocationHeader: false,
        // An absolute-form target names a host: drop it, the upstream is always ours.
        preRewrite: (url) => originFormOf(url),
        replyOptions: {
          timeout: timeoutMs,
          rewriteRequestHeaders: (request, headers) => forwardedRequestHeaders(request, headers as IncomingHttpHeaders, trustProxy),
          rewriteHeaders: (headers, request) => {
            const cleaned = stripHopByHop(headers as IncomingHttpHeaders);
            if (request) cleaned['x-request-id'] = request.id;
            return cleaned;
          },
          // A kept-alive socket the upstream closed just before reuse: one quick retry, only where it is safe.
          // (`req` is reply-from's outgoing request, typed as a Fastify request; a streamed body cannot be replayed.)
          retryDelay: ({ err, req, attempt }) =>
            attempt === 0 && IDEMPOTENT_WITHOUT_BODY.has(String(req.method)) && !req.body && isSocketReset(err) ? 1 : null,
          onError: (reply, { error }) => {
            const mapped = overLimit.has(reply.request) ? payloadTooLarge(bodyLimit) : upstreamError(upstream.name, error);
            void reply.send(mapped);
          },
        },
      });
    }
  });
}

/** The headers an upstream receives: hop-by-hop fields gone, forwarding facts and the request id added. */
function forwardedRequestHeaders(
  request: FastifyRequest<RouteGenericInterface, RawServerBase>,
  headers: IncomingHttpHeaders,
  trustProxy: boolean,
): IncomingHttpHeaders {
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

function payloadTooLarge(limit: number): AppError {
  // Close the connection: the rest of the body is not worth reading.
  return new AppError(`request body is larger than ${limit} bytes`, {
    status: 413,
    code: 'payload_too_large',
    headers: { connection: 'close' },
  });
}

/**
 * Passes the body through chunk by chunk (with back-pressure) and fails it
 * once more than `limit` bytes arrived; what the client still sends is drained.
 */
function limitBody(raw: IncomingMessage, body: Readable, limit: number, onExceeded: () => void): Readable {
  let received = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) {
        body.unpipe(limited);
        body.resume();
        onExceeded();
        callback(payloadTooLarge(limit));
        return;
      }
      callback(null, chunk);
    },
  });
  body.once('error', (error) => limited.destroy(error));
  raw.once('close', () => {
    if (!raw.complete) limited.destroy(new Error('the client aborted the request body'));
  });
  body.pipe(limited);
  return limited;
}

function codesOf(error: unknown): string[] {
  const own = (error as { code?: unknown })?.code;
  const cause = (error as { cause?: { code?: unknown } })?.cause?.code;
  return [cause, own].filter((code): code is string => typeof code === 'string');
}

function isSocketReset(error: unknown): boolean {
  return codesOf(error).some((code) => code === 'UND_ERR_SOCKET' || code === 'ECONNRESET');
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
