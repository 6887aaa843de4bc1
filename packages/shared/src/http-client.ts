import { Pool, errors as undiciErrors } from 'undici';
import { BadGatewayError, GatewayTimeoutError, ServiceUnavailableError } from './errors.js';

export interface HttpClientOptions {
  /** Base URL of the service, e.g. `http://product-service:3002`. */
  baseUrl: string;
  /** Name used in error messages, e.g. `product service`. */
  name: string;
  /** Deadline for the whole exchange, request to last byte of the answer (default 2 s). */
  timeoutMs?: number;
  /** Time to wait for a TCP connection (default 1 s): a dead host fails fast. */
  connectTimeoutMs?: number;
  /** Kept-alive connections in the pool (default 32). */
  connections?: number;
}

export interface JsonResponse<T = unknown> {
  status: number;
  body: T;
}

export interface HttpClient {
  /** `timeoutMs` shortens the client's deadline for this call (what is left of a caller's budget). */
  getJson<T = unknown>(path: string, options?: RequestOptions): Promise<JsonResponse<T>>;
  postJson<T = unknown>(path: string, body: unknown, options?: RequestOptions): Promise<JsonResponse<T>>;
  close(): Promise<void>;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * A JSON client for one upstream over kept-alive connections. A refused or
 * reset connection becomes 503, a timeout 504, an unreadable answer 502.
 */
export function createHttpClient({
  baseUrl,
  name,
  timeoutMs = 2_000,
  connectTimeoutMs = 1_000,
  connections = 32,
}: HttpClientOptions): HttpClient {
  const origin = new URL(baseUrl);
  const basePath = origin.pathname.replace(/\/$/, '');
  const pool = new Pool(origin.origin, {
    connections,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: connectTimeoutMs },
    keepAliveTimeout: 10_000,
  });

  async function send<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    { headers = {}, timeoutMs: callTimeoutMs }: RequestOptions = {},
  ): Promise<JsonResponse<T>> {
    // undici's own timeouts tick coarsely (about a second); one abortable deadline for the whole
    // exchange makes a short timeout exact and frees the connection when it fires.
    const deadline = AbortSignal.timeout(Math.min(timeoutMs, callTimeoutMs ?? timeoutMs));
    let response;
    try {
      response = await pool.request({
        method,
        path: basePath + path,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: deadline,
      });
    } catch (error) {
      throw mapTransportError(name, error, deadline);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw mapTransportError(name, error, deadline);
    }
    if (response.statusCode >= 500) return { status: response.statusCode, body: safeParse(text) as T };
    try {
      return { status: response.statusCode, body: (text ? JSON.parse(text) : null) as T };
    } catch (error) {
      throw new BadGatewayError(`${name} sent an unreadable answer`, { cause: error });
    }
  }

  return {
    getJson: (path, options) => send('GET', path, undefined, options),
    postJson: (path, body, options) => send('POST', path, body, options),
    close: () => pool.close(),
  };
}

// A failing upstream's body may be anything (an HTML error page): its status is what counts.
function safeParse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function mapTransportError(name: string, error: unknown, deadline: AbortSignal) {
  if (deadline.aborted || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayTimeoutError(`${name} timed out`, { cause: error });
  }
  return new ServiceUnavailableError(`${name} is unavailable`, { cause: error });
}
