import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';

export interface ResponseCacheOptions {
  /** Bytes all kept answers may take together. */
  maxBytes: number;
  /** Largest single answer kept, in bytes. */
  maxEntryBytes?: number;
}

/** One kept answer: what is sent again, and when it was fetched. */
interface Kept {
  headers: Record<string, string>;
  body: Buffer;
  storedAt: number;
}

// The only answer headers kept and sent again: the rest (request id, rate limits, dates,
// connection handling) belong to each request.
const KEPT_HEADERS = ['content-type', 'cache-control', 'etag', 'last-modified', 'content-language', 'x-content-type-options'];
const CREDENTIALS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * A shared cache (RFC 9111) for one upstream's answers to GET, in the gateway itself: a hit is
 * answered without touching the upstream or undici. Only what the service marked shareable
 * (`Cache-Control: public, max-age=N`, a 200, no `Vary`, no `Set-Cookie`) is kept, for N
 * seconds; bounded by bytes, least recently used out first.
 *
 * A request with credentials, or one asking for a fresh answer (`Cache-Control: no-cache`), goes
 * to the upstream and its answer is not kept. Any successful write through the gateway to this
 * upstream empties the cache: a new or changed product shows in every list at once. Changes the
 * gateway does not see (stock reserved by the order saga) show within max-age.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, Kept>;
  private readonly maxEntryBytes: number;
  // Counts the writes that emptied the cache: an answer fetched before one of them is not kept.
  private generation = 0;

  constructor({ maxBytes, maxEntryBytes = 256 * 1024 }: ResponseCacheOptions) {
    this.maxEntryBytes = Math.min(maxEntryBytes, maxBytes);
    this.entries = new LRUCache<string, Kept>({ maxSize: maxBytes, sizeCalculation: (kept) => Math.max(1, kept.body.length + 200) });
  }

  /** The Fastify hooks that put this cache in front of the proxy for one path prefix. */
  hooks() {
    const pending = new WeakMap<FastifyRequest, { key: string; generation: number }>();
    return {
      /** Answers a hit; marks a miss that may be kept. */
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        if (request.method !== 'GET' || !mayUseCache(request)) return;
        const key = request.url;
        const kept = this.entries.get(key);
        if (!kept) {
          pending.set(request, { key, generation: this.generation });
          return;
        }
        return reply
          .headers(kept.headers)
          .header('age', String(Math.floor((Date.now() - kept.storedAt) / 1000)))
          .header('content-length', String(kept.body.length))
          .send(kept.body);
      },
      /** Keeps a shareable answer to a marked miss (read whole: it is at most maxEntryBytes). */
      onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
        const miss = pending.get(request);
        if (miss === undefined) return payload;
        pending.delete(request);
        const maxAgeMs = shareableFor(reply);
        const length = Number(reply.getHeader('content-length'));
        if (maxAgeMs === 0 || !(payload instanceof Readable) || !(length > 0 && length <= this.maxEntryBytes)) return payload;
        const body = await readWhole(payload);
        if (body.length !== length || miss.generation !== this.generation) return body;
        const headers: Record<string, string> = {};
        for (const name of KEPT_HEADERS) {
          const value = reply.getHeader(name);
          if (typeof value === 'string') headers[name] = value;
        }
        this.entries.set(miss.key, { headers, body, storedAt: Date.now() }, { ttl: maxAgeMs });
        return body;
      },
      /** A write the upstream accepted may change any answer kept. */
      onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
        if (SAFE_METHODS.has(request.method) || reply.statusCode >= 400) return;
        this.generation += 1;
        this.entries.clear();
      },
    };
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function mayUseCache(request: FastifyRequest): boolean {
  if (CREDENTIALS.some((name) => request.headers[name] !== undefined)) return false;
  const asked = `${request.headers['cache-control'] ?? ''},${request.headers.pragma ?? ''}`.toLowerCase();
  return !/no-cache|no-store|max-age=0/.test(asked);
}

/** How long the upstream lets a shared cache reuse this answer, in ms (0: not at all). */
function shareableFor(reply: FastifyReply): number {
  if (reply.statusCode !== 200 || reply.hasHeader('vary') || reply.hasHeader('set-cookie')) return 0;
  const directives = String(reply.getHeader('cache-control') ?? '').toLowerCase();
  if (!/(^|[\s,])public([\s,]|$)/.test(directives) || /no-store|no-cache|private/.test(directives)) return 0;
  // s-maxage is the one meant for shared caches; max-age otherwise.
  const maxAge = /(?:^|[\s,])s-maxage=(\d+)/.exec(directives) ?? /(?:^|[\s,])max-age=(\d+)/.exec(directives);
  return maxAge ? Number(maxAge[1]) * 1000 : 0;
}

/** The stream's bytes in one buffer of their own. */
async function readWhole(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
  }
  // Exactly this size, not pooled: the chunks are views into larger socket buffers, which a kept view would pin.
  const body = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(body, offset);
  return body;
}
