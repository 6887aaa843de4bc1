import { BalancedPool, Pool, type Dispatcher } from 'undici';

/** One service behind the gateway: the path prefix it owns and a kept-alive pool to it. */
export interface Upstream {
  /** `user-service`: used in readiness and docs messages. */
  name: string;
  /** `/users`: this prefix and everything under it goes to this service, unchanged. */
  prefix: string;
  /** Configured origins; the first is the proxy's nominal base. */
  origins: string[];
  /** A `Pool`, or a round-robin `BalancedPool` when several origins are configured. */
  dispatcher: Pool | BalancedPool;
}

export interface UpstreamOptions {
  /** Kept-alive connections per origin. */
  connections?: number;
  /** Time to open a TCP connection: a dead host fails fast instead of waiting for the answer timeout. */
  connectTimeoutMs?: number;
}

/**
 * Kept-alive pools to each service. 64 connections per origin covers well over
 * the 50-connection benchmark load on a 2-core box without hoarding sockets;
 * idle sockets are kept 30 s unless the upstream's `Keep-Alive` hint is shorter.
 */
export function createUpstream(
  name: string,
  prefix: string,
  origins: string[],
  { connections = 64, connectTimeoutMs = 2_000 }: UpstreamOptions = {},
): Upstream {
  if (origins.length === 0) throw new Error(`${name}: at least one origin is required`);
  const options: Pool.Options = {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: connectTimeoutMs },
  };
  const dispatcher = origins.length > 1 ? new BalancedPool(origins, options) : new Pool(origins[0] as string, options);
  return { name, prefix, origins, dispatcher };
}

/** GET `path` from one upstream within `timeoutMs`; the body is left to the caller. */
export function getFrom(upstream: Upstream, path: string, timeoutMs: number): Promise<Dispatcher.ResponseData> {
  return upstream.dispatcher.request({
    method: 'GET',
    path,
    headers: { accept: 'application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** A readiness check: resolves when the upstream's own `/readyz` answers 200. */
export function upstreamReady(upstream: Upstream, timeoutMs: number): () => Promise<void> {
  return async () => {
    const response = await getFrom(upstream, '/readyz', timeoutMs);
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`${upstream.name} answered ${response.statusCode}`);
  };
}
