import { Writable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { interceptors, type Dispatcher } from 'undici';

// undici's cache types, reached through the interceptor's options (the module exports no names for them).
type CacheStore = NonNullable<interceptors.CacheInterceptorOpts['store']>;
type CacheKey = Parameters<CacheStore['get']>[0];
type CacheValue = Parameters<CacheStore['createWriteStream']>[1];
type GetResult = NonNullable<Awaited<ReturnType<CacheStore['get']>>>;
type Stored = CacheValue & { body: Buffer[]; size: number };

export interface ResponseCacheOptions {
  /** Bytes all kept answers may take together. */
  maxBytes: number;
  /** Largest single answer kept, in bytes. */
  maxEntryBytes?: number;
}

/**
 * What one upstream's answers to GET may be reused from: only those the service marked as
 * shareable (`Cache-Control: public, max-age=N`), for as long as it said (RFC 9111, through
 * undici's cache interceptor). Bounded by bytes, least recently used first out (undici's own
 * MemoryCacheStore never evicts a URL cached once, so distinct query strings would grow it
 * without end). Answers that `Vary` are not kept: none of ours do, and it keeps one entry per URL.
 *
 * Any successful write through the gateway to this upstream empties it (undici reports a write
 * as a `delete` of its URL): a new or changed product then shows in every list at once, not
 * after max-age. Changes the gateway does not see (stock reserved by the order saga) show
 * within max-age.
 */
export class ResponseCache implements CacheStore {
  private readonly entries: LRUCache<string, Stored>;
  private readonly maxEntryBytes: number;

  constructor({ maxBytes, maxEntryBytes = 256 * 1024 }: ResponseCacheOptions) {
    this.maxEntryBytes = Math.min(maxEntryBytes, maxBytes);
    this.entries = new LRUCache<string, Stored>({ maxSize: maxBytes, sizeCalculation: (entry) => Math.max(1, entry.size) });
  }

  get(key: CacheKey): GetResult | undefined {
    const entry = this.entries.get(keyOf(key));
    if (!entry || entry.deleteAt <= Date.now()) return undefined;
    return { ...entry, cacheControlDirectives: entry.cacheControlDirectives ?? {} };
  }

  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined {
    if (value.vary && Object.keys(value.vary).length > 0) return undefined;
    const entry: Stored = { ...value, body: [], size: 0 };
    const { maxEntryBytes, entries } = this;
    return new Writable({
      write(chunk: Buffer, _encoding, callback) {
        entry.size += chunk.byteLength;
        if (entry.size > maxEntryBytes) {
          this.destroy();
          return;
        }
        entry.body.push(chunk);
        callback();
      },
      final(callback) {
        const ttl = entry.deleteAt - Date.now();
        if (ttl > 0) entries.set(keyOf(key), entry, { ttl });
        callback();
      },
    });
  }

  delete(_key: CacheKey): void {
    this.entries.clear();
  }

  /** Answers kept now, and the bytes they take. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.entries.calculatedSize };
  }
}

function keyOf(key: CacheKey): string {
  return `${key.method} ${key.origin}${key.path}`;
}

/**
 * `dispatcher`, answering GETs from `cache` when the upstream allowed it (a shared cache: RFC
 * 9111). A request with credentials always goes to the upstream and its answer is never kept,
 * whatever the answer says: what a signed-in caller sees may be theirs alone.
 */
export function withResponseCache(dispatcher: Dispatcher, cache: ResponseCache): Dispatcher {
  const cached = dispatcher.compose(interceptors.cache({ store: cache, methods: ['GET'], type: 'shared' }));
  return dispatcher.compose(
    (dispatch) => (options, handler) =>
      carriesCredentials(options.headers) ? dispatch(options, handler) : cached.dispatch(options, handler),
  );
}

function carriesCredentials(headers: Dispatcher.DispatchOptions['headers']): boolean {
  if (!headers) return false;
  const names = Array.isArray(headers)
    ? headers.filter((_, i) => i % 2 === 0).map(String)
    : Symbol.iterator in headers
      ? [...(headers as Iterable<[string, unknown]>)].map(([name]) => name)
      : Object.keys(headers);
  return names.some((name) => CREDENTIALS.has(name.toLowerCase()));
}

const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);
