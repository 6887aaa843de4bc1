/**
 * What `npm start` checks before it starts anything, so a mistake is one line naming the
 * variable to change: its own settings, the ports, every service's settings as that service
 * will read them, and what an earlier npm start that was killed outright left running.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { passwordProblem, usernameProblem } from '../services/user/src/rules.js';
import { UserError } from './cli.js';
import { isAlive } from './local-data.js';
import { FOLDERS, ROOT, SERVICES, serviceEnvironment, type ServiceName, type StackOptions } from './stack.js';

/** The variable npm start reads for each port. */
export const PORT_VARIABLES = {
  gateway: 'GATEWAY_PORT',
  user: 'USER_SERVICE_PORT',
  product: 'PRODUCT_SERVICE_PORT',
  order: 'ORDER_SERVICE_PORT',
  postgres: 'EMBEDDED_POSTGRES_PORT',
} as const;
const DEFAULT_PORTS = { gateway: 8080, user: 3001, product: 3002, order: 3003, postgres: 54329 };

export type PortName = keyof typeof PORT_VARIABLES;

/** The ports from GATEWAY_PORT etc.; a value that is no port, or one port given twice, is a `UserError`. */
export function readPorts(env: NodeJS.ProcessEnv, { postgres }: { postgres: boolean }): Record<PortName, number> {
  const ports = {} as Record<PortName, number>;
  for (const [name, variable] of Object.entries(PORT_VARIABLES) as [PortName, string][]) {
    const raw = env[variable];
    if (raw === undefined || raw === '') {
      ports[name] = DEFAULT_PORTS[name];
      continue;
    }
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < 1 || value > 65535) throw new UserError(`${variable} must be a port number (1-65535), got "${raw}"`);
    ports[name] = value;
  }
  const used = (Object.keys(ports) as PortName[]).filter((name) => name !== 'postgres' || postgres);
  for (const [index, name] of used.entries()) {
    const twin = used.slice(index + 1).find((other) => ports[other] === ports[name]);
    if (twin) {
      throw new UserError(`${PORT_VARIABLES[name]} and ${PORT_VARIABLES[twin]} are both ${ports[name]}: give each its own port`);
    }
  }
  return ports;
}

/** NODE_ENV passes through to the services (unset: development); a value they would refuse is refused here. */
export function readNodeEnv(env: NodeJS.ProcessEnv): 'development' | 'test' | 'production' {
  const value = env.NODE_ENV;
  if (value === undefined || value === '') return 'development';
  if (value === 'development' || value === 'test' || value === 'production') return value;
  throw new UserError(`NODE_ENV must be development, test or production, got "${value}" (unset, npm start runs in development)`);
}

/** The admin account npm start seeds: ADMIN_USERNAME / ADMIN_PASSWORD, checked by the user service's own rules. */
export function readAdmin(env: NodeJS.ProcessEnv, generatedPassword: string): { username: string; password: string; fromEnv: boolean } {
  const username = env.ADMIN_USERNAME || 'admin';
  const password = env.ADMIN_PASSWORD || generatedPassword;
  const nameProblem = usernameProblem(username);
  if (nameProblem) throw new UserError(`ADMIN_USERNAME ${nameProblem}, got "${username}"`);
  const problem = passwordProblem(password);
  if (problem && env.ADMIN_PASSWORD) throw new UserError(`ADMIN_PASSWORD ${problem}`);
  return { username, password, fromEnv: Boolean(env.ADMIN_PASSWORD) };
}

/** Refuses ports another program listens on, naming the variable and a free port to use instead. */
export async function checkPortsFree(ports: Partial<Record<PortName, number>>): Promise<void> {
  const taken: PortName[] = [];
  for (const [name, port] of Object.entries(ports) as [PortName, number][]) {
    const problem = await portProblem(port);
    if (problem === 'EACCES')
      throw new UserError(`${PORT_VARIABLES[name]}=${port} needs privileges to listen on: choose a port above 1023`);
    if (problem) taken.push(name);
  }
  if (taken.length === 0) return;
  const suggestions: string[] = [];
  const avoid = new Set(Object.values(ports));
  for (const name of taken) {
    let candidate = ports[name]! + 1;
    while (candidate < 65535 && (avoid.has(candidate) || (await portProblem(candidate)))) candidate++;
    avoid.add(candidate);
    suggestions.push(`${PORT_VARIABLES[name]}=${candidate}`);
  }
  const list = taken.map((name) => `${ports[name]} (${PORT_VARIABLES[name]})`).join(', ');
  throw new UserError(
    `port ${list} ${taken.length > 1 ? 'are' : 'is'} already in use by another program: stop it, or start on another port: ${suggestions.join(' ')} npm start`,
  );
}

function portProblem(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'EADDRINUSE'));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/**
 * Every service's settings, read by its own `loadConfig` from the environment it will get
 * (and its folder's .env), so a bad value is reported once, before any process starts.
 */
export async function checkServiceSettings(options: Parameters<typeof serviceEnvironment>[1]): Promise<void> {
  const loaders: Record<ServiceName, () => Promise<{ loadConfig: (env: NodeJS.ProcessEnv) => unknown }>> = {
    user: () => import('../services/user/src/config.js'),
    product: () => import('../services/product/src/config.js'),
    order: () => import('../services/order/src/config.js'),
    gateway: () => import('../gateway/src/config.js'),
  };
  const problems = new Map<string, ServiceName[]>();
  await Promise.all(
    SERVICES.map(async (service) => {
      const { loadConfig } = await loaders[service]();
      const dotEnv = join(ROOT, FOLDERS[service], '.env');
      const fromFile = existsSync(dotEnv) ? parseEnv(readFileSync(dotEnv, 'utf8')) : {};
      try {
        loadConfig({ ...fromFile, ...serviceEnvironment(service, options) });
      } catch (error) {
        if ((error as Error).name !== 'ConfigError') throw error;
        for (const problem of (error as Error).message.replace(/^Invalid configuration: /, '').split('; ')) {
          problems.set(problem, [...(problems.get(problem) ?? []), service]);
        }
      }
    }),
  );
  if (problems.size === 0) return;
  const described = [...problems].map(([problem, services]) =>
    services.length === SERVICES.length ? problem : `${problem} (${services.map((s) => `${s} service`).join(', ')})`,
  );
  throw new UserError(`invalid settings: ${described.join('; ')}`);
}

/** Builds the stack options' settings part for the checks and the start alike. */
export type StackSettings = Pick<StackOptions, 'ports' | 'databaseUrls' | 'eventBus' | 'admin' | 'env'>;

/**
 * When the command the user typed started: the npm (or npx) process that ran this script, read
 * from /proc on Linux; elsewhere, or run without npm, when this process started.
 */
export function commandStartedAt(): number {
  const self = performance.timeOrigin;
  if (process.platform !== 'linux') return self;
  try {
    const startTicks = (pid: number | 'self') => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { parent: Number(fields[1]), start: Number(fields[19]) };
    };
    const own = startTicks('self');
    let earliest = own.start;
    let pid = own.parent;
    for (let depth = 0; depth < 4 && pid > 1 && isAlive(pid); depth++) {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const isNpm = /(^|[\s/])(npm|npx)(-cli\.js)?(\s|$)/.test(command);
      const isShell = /^(\S*\/)?(sh|bash|dash)\s+-c\b/.test(command);
      if (!isNpm && !isShell) break;
      const { parent, start } = startTicks(pid);
      if (isNpm) earliest = Math.min(earliest, start);
      pid = parent;
    }
    // /proc counts in clock ticks of 10 ms (USER_HZ is 100 on Linux builds that matter).
    return self - (own.start - earliest) * 10;
  } catch {
    return self;
  }
}
