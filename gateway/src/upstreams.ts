import { Dispatcher, Pool } from 'undici';
import type { ResponseCache } from './response-cache.js';

/**
 * Headers the proxy sets on its own request to steer the choice of replica; the replica set
 * removes them before sending. `PICK` is a per-request round-robin number, `ATTEMPT` the try.
 */
export const PICK_HEADER = 'x-gateway-pick';
export const ATTEMPT_HEADER = 'x-gateway-attempt';
// How long a replica that refused a connection, or said it is shutting down, is passed over.
const PASS_OVER_MS = 2_000;
// How often each replica's /readyz is asked when there are several: a replica draining for a
// restart (1 s, see startService) is left alone before it closes its idle connections, so no
// request can be written onto one of them just as it closes.
const READY_CHECK_MS = 400;

/** One service behind the gateway: the path prefix it owns and a kept-alive pool to it. */
export interface Upstream {
  /** `user-service`: used in readiness and docs messages. */
  name: string;
  /** `/users`: this prefix and everything under it goes to this service, unchanged. */
  prefix: string;
  /** Configured origins; the first is the proxy's nominal base. */
  origins: string[];
  /** Kept-alive pools to every replica, taken round-robin. */
  dispatcher: ReplicaSet;
  /** Answers of this upstream the gateway keeps for reuse, if any. */
  cache?: ResponseCache;
}

export interface UpstreamOptions {
  /** Kept-alive connections per origin. */
  connections?: number;
  /** Time to open a TCP connection: a dead host fails fast instead of waiting for the answer timeout. */
  connectTimeoutMs?: number;
  /** Reuse the answers this upstream marks as shareable. */
  cache?: ResponseCache;
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
  { connections = 64, connectTimeoutMs = 2_000, cache }: UpstreamOptions = {},
): Upstream {
  if (origins.length === 0) throw new Error(`${name}: at least one origin is required`);
  const options: Pool.Options = {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: connectTimeoutMs },
  };
  return { name, prefix, origins, dispatcher: new ReplicaSet(origins, options), cache };
}

/**
 * One kept-alive pool per replica. A request goes to replica `pick % n`; each retry of it
 * (a refused connection, a replica shutting down) to the next one, and a replica that made a
 * request retry is passed over by others for a while, so a restart costs one try, not many.
 */
export class ReplicaSet extends Dispatcher {
  private readonly pools: Pool[];
  private readonly passedOverUntil: number[];
  private readonly ready: boolean[];
  private readonly readyChecks: NodeJS.Timeout | undefined;
  // The replica each recent request went to last, by pick (a ring: only in-flight ones matter).
  private readonly lastChoice: ({ pick: number; index: number } | undefined)[] = new Array(1024);
  private picks = 0;

  constructor(origins: string[], options: Pool.Options) {
    super();
    this.pools = origins.map((origin) => new Pool(origin, options));
    this.passedOverUntil = origins.map(() => 0);
    this.ready = origins.map(() => true);
    if (origins.length > 1) {
      this.readyChecks = setInterval(() => void this.checkReadiness(), READY_CHECK_MS);
      this.readyChecks.unref();
    }
  }

  /** The round-robin number for a new request (see PICK_HEADER). */
  nextPick(): number {
    return this.picks++;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const headers = { ...(options.headers as Record<string, string | string[] | undefined>) };
    const pick = Number(headers[PICK_HEADER] ?? this.nextPick());
    const attempt = Number(headers[ATTEMPT_HEADER] ?? 0);
    delete headers[PICK_HEADER];
    delete headers[ATTEMPT_HEADER];
    const index = this.choose(pick, attempt);
    this.lastChoice[pick % this.lastChoice.length] = { pick, index };
    return this.pools[index]!.dispatch({ ...options, headers }, handler);
  }

  private async checkReadiness(): Promise<void> {
    await Promise.all(
      this.pools.map(async (pool, index) => {
        try {
          const answer = await pool.request({
            method: 'GET',
            path: '/readyz',
            headersTimeout: READY_CHECK_MS,
            bodyTimeout: READY_CHECK_MS,
          });
          await answer.body.dump();
          this.ready[index] = answer.statusCode === 200;
        } catch {
          this.ready[index] = false;
        }
      }),
    );
  }

  override async close(): Promise<void> {
    clearInterval(this.readyChecks);
    await Promise.all(this.pools.map((pool) => pool.close()));
  }

  override async destroy(): Promise<void> {
    clearInterval(this.readyChecks);
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }

  private choose(pick: number, attempt: number): number {
    const now = Date.now();
    const count = this.pools.length;
    if (attempt === 0) return this.firstUsable(pick % count, now);
    // A retry: the replica the previous try went to failed it. Others skip it for a while too.
    const last = this.lastChoice[pick % this.lastChoice.length];
    if (last?.pick !== pick) return this.firstUsable((pick + attempt) % count, now);
    this.passedOverUntil[last.index] = now + PASS_OVER_MS;
    return this.firstUsable((last.index + 1) % count, now, last.index);
  }

  /** From `start` on, the first replica ready and not passed over (and not `except`, when there is another). */
  private firstUsable(start: number, now: number, except?: number): number {
    const count = this.pools.length;
    let firstOther: number | undefined;
    for (let i = 0; i < count; i++) {
      const index = (start + i) % count;
      if (index === except) continue;
      if (this.ready[index] && this.passedOverUntil[index]! <= now) return index;
      firstOther ??= index;
    }
    return firstOther ?? start;
  }
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
