/**
 * Starts and stops the four processes of the stack (user, product, order,
 * gateway) on one machine. Used by `npm start` / `npm run dev` and by the
 * end-to-end tests, so both run the system the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type ServiceName = 'user' | 'product' | 'order' | 'gateway';
export const SERVICES: ServiceName[] = ['user', 'product', 'order', 'gateway'];
const FOLDERS: Record<ServiceName, string> = {
  user: 'services/user',
  product: 'services/product',
  order: 'services/order',
  gateway: 'gateway',
};

/** How a process runs: built JS, TypeScript sources, or sources reloaded on change. */
export type RunMode = 'built' | 'source' | 'watch';

export type BackendName = Exclude<ServiceName, 'gateway'>;

export interface StackOptions {
  ports: Record<ServiceName, number>;
  /** Ports of extra instances of a service: the gateway balances over all of them (round-robin). */
  replicaPorts?: Partial<Record<BackendName, number[]>>;
  databaseUrls: Record<BackendName, string>;
  /** The broker of order events for product and order (nats://... or postgres://.../events_db). */
  eventBus: { url: string; namespace?: string };
  admin: { username: string; password: string };
  mode: RunMode;
  host?: string;
  /** Extra environment for every process (e.g. LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** Receives each output line of each process; `instance` is 0 for the first one of a service. */
  onLine?: (service: ServiceName, line: string, stream: 'stdout' | 'stderr', instance: number) => void;
  /** Called when a process exits while the stack is not stopping. */
  onExit?: (service: ServiceName, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface Stack {
  gatewayUrl: string;
  urls: Record<ServiceName, string>;
  /** Every process: the first instance of each service, then its replicas. */
  processes: { service: ServiceName; instance: number; url: string; child: ChildProcess }[];
  /** Waits until every process answers 200 on /readyz (the gateway's checks its upstreams). */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Stops every instance of one service (SIGTERM, or `signal`; SIGKILL after a grace period). */
  stopService(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts the stopped instances of one service again, on their ports, and waits until they are ready. */
  startService(service: ServiceName, timeoutMs?: number): Promise<void>;
  /** Stops every process. */
  stop(): Promise<void>;
}

function commandFor(mode: RunMode): { command: string; args: string[] } {
  switch (mode) {
    case 'built':
      return { command: process.execPath, args: ['dist/main.js'] };
    case 'source':
      return { command: process.execPath, args: ['--conditions=source', '--import', 'tsx', 'src/main.ts'] };
    case 'watch':
      return {
        command: fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url)),
        args: ['watch', '--clear-screen=false', '--conditions=source', 'src/main.ts'],
      };
  }
}

function environmentFor(
  service: ServiceName,
  port: number,
  options: StackOptions,
  urls: Record<ServiceName, string>,
  all: Record<BackendName, string[]>,
): NodeJS.ProcessEnv {
  // The gateway balances over every instance; service-to-service calls go to the first one.
  const upstreams =
    service === 'gateway'
      ? { USER_SERVICE_URL: all.user.join(','), PRODUCT_SERVICE_URL: all.product.join(','), ORDER_SERVICE_URL: all.order.join(',') }
      : {};
  const common = {
    NODE_ENV: 'development',
    HOST: options.host ?? '127.0.0.1',
    PORT: String(port),
    USER_SERVICE_URL: urls.user,
    PRODUCT_SERVICE_URL: urls.product,
    ORDER_SERVICE_URL: urls.order,
    ...upstreams,
  };
  const own = service === 'gateway' ? {} : { DATABASE_URL: options.databaseUrls[service] };
  const events =
    service === 'product' || service === 'order'
      ? { EVENT_BUS_URL: options.eventBus.url, EVENT_BUS_NAMESPACE: options.eventBus.namespace ?? 'events' }
      : {};
  const admin = service === 'user' ? { ADMIN_USERNAME: options.admin.username, ADMIN_PASSWORD: options.admin.password } : {};
  return { ...process.env, ...common, ...own, ...events, ...admin, ...options.env };
}

export function startStack(options: StackOptions): Stack {
  const host = '127.0.0.1';
  const urls = Object.fromEntries(SERVICES.map((s) => [s, `http://${host}:${options.ports[s]}`])) as Record<ServiceName, string>;
  const { command, args } = commandFor(options.mode);
  let stopping = false;
  const instances = SERVICES.flatMap((service) => {
    const extra = service === 'gateway' ? [] : (options.replicaPorts?.[service] ?? []);
    return [options.ports[service], ...extra].map((port, instance) => ({ service, instance, port, url: `http://${host}:${port}` }));
  });
  const all = Object.fromEntries(
    (['user', 'product', 'order'] as const).map((service) => [service, instances.filter((i) => i.service === service).map((i) => i.url)]),
  ) as Record<BackendName, string[]>;

  const spawnInstance = ({ service, instance, port, url }: (typeof instances)[number]) => {
    const child = spawn(command, args, {
      cwd: `${ROOT}/${FOLDERS[service]}`,
      env: environmentFor(service, port, options, urls, all),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) => options.onLine?.(service, line, stream, instance));
    }
    child.once('exit', (code, signal) => {
      if (!stopping && !stoppingServices.has(service)) options.onExit?.(service, code, signal);
    });
    return { service, instance, url, child, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
  };
  const stoppingServices = new Set<ServiceName>();
  const processes = instances.map(spawnInstance);
  const running = (p: (typeof processes)[number]) => p.child.exitCode === null && p.child.signalCode === null;

  async function stopService(service: ServiceName, signal: NodeJS.Signals = 'SIGTERM') {
    stoppingServices.add(service);
    await Promise.all(
      processes
        .filter((p) => p.service === service && running(p))
        .map(async ({ child, exited }) => {
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }),
    );
  }

  /** Starts again every stopped instance of `service`, on the same ports, and waits until it is ready. */
  async function startService(service: ServiceName, timeoutMs = 60_000) {
    processes.forEach((p, index) => {
      if (p.service === service && !running(p)) processes[index] = spawnInstance(instances[index]!);
    });
    stoppingServices.delete(service);
    await waitUntilReady(
      processes.filter((p) => p.service === service),
      timeoutMs,
    );
  }

  async function waitUntilReady(which: typeof processes, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (const { service, url, child } of which) {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${service} (${url}) exited before it was ready`);
        if (await isReady(url)) break;
        if (Date.now() > deadline) throw new Error(`${service} (${url}) was not ready after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  return {
    gatewayUrl: urls.gateway,
    urls,
    get processes() {
      return processes.map(({ service, instance, url, child }) => ({ service, instance, url, child }));
    },
    waitUntilReady: (timeoutMs = 60_000) => waitUntilReady(processes, timeoutMs),
    stopService,
    startService,
    async stop() {
      stopping = true;
      await Promise.all(SERVICES.map((service) => stopService(service)));
    },
  };
}

async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
