/**
 * The stack the end-to-end tests talk to: either one already running
 * (E2E_GATEWAY_URL, e.g. under Docker Compose) or the four processes started
 * here on free ports against fresh databases in the test PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase, freePort, startTcpProxy, type TcpProxy } from '@mini/shared/testing';
import { createConnection } from 'node:net';
import { startStack, SERVICES, type ServiceName, type Stack } from '../scripts/stack.js';
import { GENEROUS_RATE_LIMITS } from './start-helpers.js';

export interface E2EStack {
  gatewayUrl: string;
  admin: { username: string; password: string };
  /** Present only when this run owns the processes. */
  local?: {
    stack: Stack;
    databaseUrls: Record<Exclude<ServiceName, 'gateway'>, string>;
    /** The TCP proxy in front of the broker, when asked for. */
    brokerProxy?: TcpProxy;
    restart(): Promise<void>;
    logs: string[];
  };
  stop(): Promise<void>;
}

/** Which broker a local stack's events go through: the PostgreSQL-backed queue (npm start's) or NATS JetStream. */
export type E2EEventBus = 'pg' | 'nats';

export async function startE2EStack({
  replicas = 1,
  logLevel = 'warn',
  eventBus = 'pg',
  brokerProxy = false,
  env = {},
}: {
  replicas?: number;
  logLevel?: string;
  eventBus?: E2EEventBus;
  /** Puts a TCP proxy between the services and the broker, so a test can cut the broker off. */
  brokerProxy?: boolean;
  env?: NodeJS.ProcessEnv;
} = {}): Promise<E2EStack> {
  const remote = process.env.E2E_GATEWAY_URL;
  if (remote) {
    return {
      gatewayUrl: remote.replace(/\/$/, ''),
      admin: { username: process.env.E2E_ADMIN_USERNAME ?? 'admin', password: process.env.E2E_ADMIN_PASSWORD ?? '' },
      stop: async () => undefined,
    };
  }
  const adminUrl = inject('postgresUrl');
  const databaseUrls = {
    user: await createDatabase(adminUrl, 'e2e_user'),
    product: await createDatabase(adminUrl, 'e2e_product'),
    order: await createDatabase(adminUrl, 'e2e_order'),
  };
  // A namespace of its own, so runs sharing one NATS server never see each other's events.
  const events =
    eventBus === 'nats'
      ? { url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', namespace: `e2e_${randomUUID().slice(0, 8)}` }
      : { url: await createDatabase(adminUrl, 'e2e_events') };
  let proxy: TcpProxy | undefined;
  if (brokerProxy) {
    const target = new URL(events.url);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port) } });
    target.host = `127.0.0.1:${proxy.port}`;
    events.url = target.toString();
  }
  const admin = { username: 'e2e_admin', password: 'e2e-admin-password' };
  const logs: string[] = [];
  const launch = async () => {
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
    const extra = async () => Promise.all(Array.from({ length: replicas - 1 }, () => freePort()));
    const stack = startStack({
      ports,
      replicaPorts: { user: await extra(), product: await extra(), order: await extra() },
      databaseUrls,
      eventBus: events,
      admin,
      mode: 'source',
      env: { LOG_LEVEL: logLevel, UPSTREAM_TIMEOUT_MS: '5000', PRODUCT_TIMEOUT_MS: '2000', ...GENEROUS_RATE_LIMITS, ...env },
      onLine: (service, line, _stream, instance) => logs.push(`[${service}#${instance}] ${line}`),
    });
    try {
      await stack.waitUntilReady(60_000);
    } catch (error) {
      await stack.stop();
      throw new Error(`${(error as Error).message}\n${logs.slice(-40).join('\n')}`);
    }
    return stack;
  };
  let stack = await launch();
  const result: E2EStack = {
    gatewayUrl: stack.gatewayUrl,
    admin,
    local: {
      stack,
      databaseUrls,
      brokerProxy: proxy,
      logs,
      async restart() {
        await stack.stop();
        stack = await launch();
        result.gatewayUrl = stack.gatewayUrl;
        result.local!.stack = stack;
      },
    },
    stop: async () => {
      await stack.stop();
      await proxy?.close();
    },
  };
  return result;
}

/** A small JSON client for the gateway. */
export function client(baseUrl: () => string) {
  async function call(
    method: string,
    path: string,
    { body, token, headers = {} }: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ) {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: response.status, headers: response.headers, body: json, text };
  }
  return {
    call,
    get: (path: string, options?: Parameters<typeof call>[2]) => call('GET', path, options),
    post: (path: string, body?: unknown, options?: Parameters<typeof call>[2]) => call('POST', path, { ...options, body }),
    patch: (path: string, body?: unknown, options?: Parameters<typeof call>[2]) => call('PATCH', path, { ...options, body }),
    delete: (path: string, options?: Parameters<typeof call>[2]) => call('DELETE', path, options),
  };
}

/** Retries `check` until it passes (every 50 ms) or `timeoutMs` runs out, then throws its last failure. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The order once it has left `pending` (confirmed or rejected by the saga, or cancelled). */
export async function settled(api: ReturnType<typeof client>, orderId: string, token: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const res = await api.get(`/orders/${orderId}`, { token });
    if (res.status !== 200 || res.body.order.status === 'pending')
      throw new Error(`order ${orderId} is still ${res.body?.order?.status ?? res.status}`);
    return res.body.order as { id: string; status: string; reason?: unknown; items: { productId: string; quantity: number }[] };
  }, timeoutMs);
}

/** True when a NATS server answers on NATS_URL (default 127.0.0.1:4222). */
export async function natsAvailable(): Promise<boolean> {
  const url = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 4222) });
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
