/**
 * The stack the end-to-end tests talk to: either one already running
 * (E2E_GATEWAY_URL, e.g. under Docker Compose) or the four processes started
 * here on free ports against fresh databases in the test PostgreSQL.
 */
import { inject } from 'vitest';
import { createDatabase, freePort } from '@mini/shared/testing';
import { startStack, SERVICES, type ServiceName, type Stack } from '../scripts/stack.js';

export interface E2EStack {
  gatewayUrl: string;
  admin: { username: string; password: string };
  /** Present only when this run owns the processes. */
  local?: {
    stack: Stack;
    databaseUrls: Record<Exclude<ServiceName, 'gateway'>, string>;
    restart(): Promise<void>;
    logs: string[];
  };
  stop(): Promise<void>;
}

export async function startE2EStack({ replicas = 1, logLevel = 'warn' }: { replicas?: number; logLevel?: string } = {}): Promise<E2EStack> {
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
  const admin = { username: 'e2e_admin', password: 'e2e-admin-password' };
  const logs: string[] = [];
  const launch = async () => {
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()]))) as Record<ServiceName, number>;
    const extra = async () => Promise.all(Array.from({ length: replicas - 1 }, () => freePort()));
    const stack = startStack({
      ports,
      replicaPorts: { user: await extra(), product: await extra(), order: await extra() },
      databaseUrls,
      admin,
      mode: 'source',
      env: { LOG_LEVEL: logLevel, UPSTREAM_TIMEOUT_MS: '5000', PRODUCT_TIMEOUT_MS: '2000' },
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
      logs,
      async restart() {
        await stack.stop();
        stack = await launch();
        result.gatewayUrl = stack.gatewayUrl;
        result.local!.stack = stack;
      },
    },
    stop: () => stack.stop(),
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
