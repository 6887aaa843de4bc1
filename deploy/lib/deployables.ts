import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidatorSpec } from 'envalid';

/** The repository root (deploy/lib/ is two levels below it). */
export const ROOT = join(import.meta.dirname, '..', '..');

/** The database a deployable owns, as Compose and the StatefulSets name it. */
export interface OwnedDatabase {
  /** Compose service, StatefulSet and Service name. */
  host: string;
  name: string;
  user: string;
  /** Key in .env and in the Secret `mini-ecommerce-secrets`. */
  passwordKey: string;
}

export interface Deployable {
  /** Image, Compose service, Deployment and Service name. */
  name: string;
  workspace: string;
  database?: OwnedDatabase;
}

/** What the repository deploys: the lists in scripts/images.sh, compose.yaml and k8s/ must match. */
export const DEPLOYABLES: readonly Deployable[] = [
  {
    name: 'user-service',
    workspace: 'services/user',
    database: { host: 'user-db', name: 'user_db', user: 'user_service', passwordKey: 'USER_DB_PASSWORD' },
  },
  {
    name: 'product-service',
    workspace: 'services/product',
    database: { host: 'product-db', name: 'product_db', user: 'product_service', passwordKey: 'PRODUCT_DB_PASSWORD' },
  },
  {
    name: 'order-service',
    workspace: 'services/order',
    database: { host: 'order-db', name: 'order_db', user: 'order_service', passwordKey: 'ORDER_DB_PASSWORD' },
  },
  { name: 'gateway', workspace: 'gateway' },
];

/**
 * The event broker product and order exchange events through: NATS with JetStream, one server.
 * Compose runs it as a service and Kubernetes as a StatefulSet, both under this name and with the
 * same public image; deploy/standins builds a stand-in of that image for CI.
 */
export interface EventBroker {
  /** Compose service, StatefulSet, Service and NetworkPolicy name. */
  host: string;
  /** Where clients connect (EVENT_BUS_URL). */
  clientPort: number;
  /** The HTTP monitoring port its health checks ask (/healthz); no client needs it. */
  monitorPort: number;
  /** JetStream's store: a named volume in Compose, a volume claim on Kubernetes. */
  storeDir: string;
}

export const EVENT_BROKER: EventBroker = { host: 'nats', clientPort: 4222, monitorPort: 8222, storeDir: '/data' };

/**
 * Where the gateway keeps its rate-limit counters: one Redis server without persistence (the
 * counters are disposable; while it is down the gateway counts per replica in memory). Compose
 * runs it as a service and Kubernetes as a Deployment of one, both under this name and with the
 * same public image; deploy/standins builds a stand-in of that image for CI.
 */
export interface RateLimitStore {
  /** Compose service, Deployment, Service and NetworkPolicy name. */
  host: string;
  port: number;
  /** The only deployable that connects, and the setting it connects with. */
  client: string;
  urlSetting: string;
  /** Key in .env and in the Secret `mini-ecommerce-secrets`. */
  passwordKey: string;
}

export const RATE_LIMIT_STORE: RateLimitStore = {
  host: 'redis',
  port: 6379,
  client: 'gateway',
  urlSetting: 'REDIS_URL',
  passwordKey: 'REDIS_PASSWORD',
};

/** The setting that names the broker, and the one every client of the broker must agree on. */
export const EVENT_BUS_SETTINGS = { url: 'EVENT_BUS_URL', namespace: 'EVENT_BUS_NAMESPACE' } as const;

export type ConfigSchema = Record<string, ValidatorSpec<unknown>>;

export interface ServiceConfig {
  configSchema: ConfigSchema;
  loadConfig: (env: NodeJS.ProcessEnv) => unknown;
}

/** The workspace's own `configSchema` and `loadConfig` (src/config.ts), the source of truth for its settings. */
export async function loadServiceConfig(workspace: string): Promise<ServiceConfig> {
  const mod = (await import(pathToFileURL(join(ROOT, workspace, 'src', 'config.ts')).href)) as Partial<ServiceConfig>;
  if (!mod.configSchema || typeof mod.loadConfig !== 'function') {
    throw new Error(`${workspace}/src/config.ts must export configSchema and loadConfig`);
  }
  return { configSchema: mod.configSchema, loadConfig: mod.loadConfig };
}

/** Variables without a `default`: production (where devDefaults never apply) needs each one set. */
export function requiredVariables(schema: ConfigSchema): string[] {
  return Object.entries(schema)
    .filter(([, spec]) => !('default' in spec))
    .map(([name]) => name);
}

/** The port a process listens on when PORT is not set. */
export function defaultPort(schema: ConfigSchema): number {
  const port = schema.PORT?.default;
  if (typeof port !== 'number') throw new Error('configSchema.PORT must have a numeric default');
  return port;
}

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/**
 * The connections the architecture allows (DESIGN.md): the gateway to the three services, order to
 * product (checks) and user (JWKS), product to user (JWKS), each service to its own database,
 * product and order to the event broker, the gateway to Redis (rate-limit counters). Compose
 * networks and Kubernetes NetworkPolicies must open exactly these.
 */
export const DESIGNED_CONNECTIONS: readonly string[] = [
  'gateway -> user-service:3001',
  'gateway -> product-service:3002',
  'gateway -> order-service:3003',
  'gateway -> redis:6379',
  'order-service -> product-service:3002',
  'order-service -> user-service:3001',
  'order-service -> order-db:5432',
  'order-service -> nats:4222',
  'product-service -> user-service:3001',
  'product-service -> product-db:5432',
  'product-service -> nats:4222',
  'user-service -> user-db:5432',
];
