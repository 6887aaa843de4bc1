import type { Deployable, ServiceConfig } from './deployables.js';
import { EVENT_BROKER, EVENT_BUS_SETTINGS, requiredVariables } from './deployables.js';
import { knownValues, missingVariables, type Environment } from './environment.js';

/** Which deployable (or the broker) each URL setting must point at. */
export const URL_SETTINGS: Record<string, string> = {
  USER_SERVICE_URL: 'user-service',
  PRODUCT_SERVICE_URL: 'product-service',
  ORDER_SERVICE_URL: 'order-service',
  [EVENT_BUS_SETTINGS.url]: EVENT_BROKER.host,
};

/** The port a URL without one means: PostgreSQL's, NATS's, or HTTP(S)'s. */
function defaultPortOf(protocol: string): number {
  if (protocol === 'postgres:' || protocol === 'postgresql:') return 5432;
  if (protocol === 'nats:' || protocol === 'tls:') return 4222;
  return protocol === 'https:' ? 443 : 80;
}

/** A connection a deployable is configured to open: the basis of the NetworkPolicy check. */
export interface Edge {
  from: string;
  to: string;
  port: number;
  variable: string;
}

/**
 * Every variable the service's configSchema requires (no `default`) is set, and, when all values
 * are known, the service's own `loadConfig` accepts them as production would (NODE_ENV from the
 * environment, which the images set to production).
 */
export function configProblems(where: string, config: ServiceConfig, env: Environment): string[] {
  const missing = missingVariables(requiredVariables(config.configSchema), env);
  if (missing.length > 0) return missing.map((name) => `${where}: ${name} is required by the service's configSchema but not set`);
  const values = knownValues(env);
  if (!values) return [];
  try {
    config.loadConfig(values);
    return [];
  } catch (error) {
    return [`${where}: the service's loadConfig refuses this environment: ${(error as Error).message}`];
  }
}

/** The settings of this deployable that name another process it connects to, with the deployable they must reach. */
export function connectionSettings(deployable: Deployable, config: ServiceConfig): { variable: string; target: string }[] {
  const settings: { variable: string; target: string }[] = [];
  for (const variable of Object.keys(config.configSchema)) {
    if (variable === 'DATABASE_URL') {
      if (!deployable.database) throw new Error(`${deployable.name} reads DATABASE_URL but owns no database in deploy/lib/deployables.ts`);
      settings.push({ variable, target: deployable.database.host });
    } else if (URL_SETTINGS[variable]) {
      settings.push({ variable, target: URL_SETTINGS[variable] });
    }
  }
  return settings;
}

/** host and port of each URL in a (possibly comma-separated) setting. */
export function urlEndpoints(value: string): { host: string; port: number; url: URL }[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const url = new URL(part);
      return { host: url.hostname, port: url.port ? Number(url.port) : defaultPortOf(url.protocol), url };
    });
}

/** The database a DATABASE_URL names (user, password, database) against what its server is created with. */
export function databaseCredentialProblems(
  where: string,
  databaseUrl: string,
  server: { user?: string; db?: string; password?: string },
): string[] {
  const url = new URL(databaseUrl);
  const problems: string[] = [];
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '');
  if (user !== server.user) problems.push(`${where}: DATABASE_URL user "${user}" is not the database's POSTGRES_USER "${server.user}"`);
  if (db !== server.db) problems.push(`${where}: DATABASE_URL database "${db}" is not the database's POSTGRES_DB "${server.db}"`);
  if (password !== server.password)
    problems.push(`${where}: DATABASE_URL password is not the database's POSTGRES_PASSWORD (${password} vs ${server.password})`);
  return problems;
}

/**
 * A setting every process that reads it must agree on (EVENT_BUS_NAMESPACE: the stream and subject
 * prefix; two values would split the events in two streams nobody bridges). Each process's
 * value is what its environment sets, else its configSchema default.
 */
export function agreementProblems(
  where: string,
  variable: string,
  processes: { name: string; config: ServiceConfig; env: Environment }[],
): string[] {
  const fallback = (config: ServiceConfig) => {
    const value: unknown = config.configSchema[variable]?.default;
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? '(unset)');
  };
  const values = processes
    .filter((p) => variable in p.config.configSchema)
    .map((p) => ({ name: p.name, value: p.env.get(variable)?.symbol ?? fallback(p.config) }));
  if (new Set(values.map((v) => v.value)).size <= 1) return [];
  return [
    `${where}: ${variable} must be the same for ${values.map((v) => v.name).join(' and ')}, but is ${values.map((v) => `"${v.value}"`).join(' and ')}`,
  ];
}
