/**
 * Starts and stops the four processes of the stack (user, product, order, gateway) on one
 * machine, and with a `restart` policy keeps them running: a process that exits on its own is
 * started again with back-off. Used by `npm start` / `npm run dev` and by the end-to-end tests,
 * so both run the system the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateKeyEncryptionKey } from '../services/user/src/key-encryption.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type ServiceName = 'user' | 'product' | 'order' | 'gateway';
export const SERVICES: ServiceName[] = ['user', 'product', 'order', 'gateway'];
/** Each service's workspace folder, relative to the repository root. */
export const FOLDERS: Record<ServiceName, string> = {
  user: 'services/user',
  product: 'services/product',
  order: 'services/order',
  gateway: 'gateway',
};

/** How a process runs: built JS, or the TypeScript sources (`npm run dev` reloads them on change). */
export type RunMode = 'built' | 'source';

export type BackendName = Exclude<ServiceName, 'gateway'>;

/** When and how often a process that exits on its own is started again. */
export interface RestartPolicy {
  /** The wait before each restart in a row; the last one repeats (default 250 ms, doubling to 4 s). */
  delaysMs?: number[];
  /** Restarts in a row (each process dying within `stableAfterMs`) before it counts as a crash loop (default 5). */
  maxRestarts?: number;
  /** A process that lived this long before exiting starts the count afresh (default 30 s). */
  stableAfterMs?: number;
}

/** What the supervisor did about a process that exited on its own. */
export type RestartEvent =
  | { type: 'restarting'; service: ServiceName; instance: number; attempt: number; delayMs: number; reason: string }
  | { type: 'recovered'; service: ServiceName; instance: number; attempt: number; readyAfterMs: number }
  | { type: 'gave-up'; service: ServiceName; instance: number; attempts: number; reason: string };

export interface StackOptions {
  ports: Record<ServiceName, number>;
  /** Ports of extra instances of a service: the gateway balances over all of them (round-robin). */
  replicaPorts?: Partial<Record<BackendName, number[]>>;
  databaseUrls: Record<BackendName, string>;
  /** The broker of order events for product and order (nats://... or postgres://.../events_db). */
  eventBus: { url: string; namespace?: string };
  admin: { username: string; password: string };
  /**
   * The user service's SIGNING_KEY_ENCRYPTION_KEY. npm start passes the one in its data folder;
   * without it, one key made for this process (the tests' and the bench's fresh databases), so a
   * restarted stack still decrypts the keys it stored.
   */
  signingKeyEncryptionKey?: string;
  mode: RunMode;
  host?: string;
  /** Extra environment for every process (e.g. LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** Each process in a process group of its own, so a Ctrl-C reaches only the owner, which stops them in order. */
  detached?: boolean;
  /** Receives each output line of each process; `instance` is 0 for the first one of a service. */
  onLine?: (service: ServiceName, line: string, stream: 'stdout' | 'stderr', instance: number) => void;
  /** Called when a process exits while the stack is not stopping (before any restart). */
  onExit?: (service: ServiceName, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Start a process that exits on its own again, with back-off; without it, it stays down. */
  restart?: RestartPolicy;
  /** What the restart policy did. */
  onRestart?: (event: RestartEvent) => void;
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
  /** Stops one instance (SIGTERM: it drains first), starts it again on its port and waits until it is ready. */
  restartInstance(service: ServiceName, instance: number, timeoutMs?: number): Promise<void>;
  /** Stops every process. */
  stop(): Promise<void>;
}

function commandFor(mode: RunMode): { command: string; args: string[] } {
  switch (mode) {
    case 'built':
      return { command: process.execPath, args: ['dist/main.js'] };
    case 'source':
      return { command: process.execPath, args: ['--conditions=source', '--import', 'tsx', 'src/main.ts'] };
  }
}

// The user service's key-encryption key when the caller brings none (see StackOptions).
const processKeyEncryptionKey = generateKeyEncryptionKey();

/** The environment of one process of the stack: what `startStack` gives it (npm start checks it before starting). */
export function serviceEnvironment(
  service: ServiceName,
  options: Pick<StackOptions, 'ports' | 'databaseUrls' | 'eventBus' | 'admin' | 'signingKeyEncryptionKey' | 'host' | 'env'>,
  { port = options.ports[service], upstreams }: { port?: number; upstreams?: Record<BackendName, string[]> } = {},
): NodeJS.ProcessEnv {
  const host = '127.0.0.1';
  const urls = Object.fromEntries(SERVICES.map((s) => [s, `http://${host}:${options.ports[s]}`])) as Record<ServiceName, string>;
  const all = upstreams ?? { user: [urls.user], product: [urls.product], order: [urls.order] };
  // Every caller knows every instance: the gateway balances over them, the order service over the
  // product instances, and product and order ask the user instances in turn for the token keys.
  const balanced =
    service === 'gateway'
      ? { USER_SERVICE_URL: all.user.join(','), PRODUCT_SERVICE_URL: all.product.join(','), ORDER_SERVICE_URL: all.order.join(',') }
      : service === 'order'
        ? { USER_SERVICE_URL: all.user.join(','), PRODUCT_SERVICE_URL: all.product.join(',') }
        : service === 'product'
          ? { USER_SERVICE_URL: all.user.join(',') }
          : {};
  const common = {
    NODE_ENV: 'development',
    HOST: options.host ?? host,
    PORT: String(port),
    USER_SERVICE_URL: urls.user,
    PRODUCT_SERVICE_URL: urls.product,
    ORDER_SERVICE_URL: urls.order,
    ...balanced,
  };
  const own = service === 'gateway' ? {} : { DATABASE_URL: options.databaseUrls[service] };
  const events =
    service === 'product' || service === 'order'
      ? { EVENT_BUS_URL: options.eventBus.url, EVENT_BUS_NAMESPACE: options.eventBus.namespace ?? 'events' }
      : {};
  const userSecrets =
    service === 'user'
      ? {
          ADMIN_USERNAME: options.admin.username,
          ADMIN_PASSWORD: options.admin.password,
          SIGNING_KEY_ENCRYPTION_KEY: options.signingKeyEncryptionKey ?? processKeyEncryptionKey,
        }
      : {};
  const env: NodeJS.ProcessEnv = { ...process.env, ...common, ...own, ...events, ...userSecrets, ...options.env };
  // Given flags come after ours, so a NODE_OPTIONS of the caller's can override them.
  env.NODE_OPTIONS = [SERVICE_NODE_OPTIONS, env.NODE_OPTIONS].filter(Boolean).join(' ');
  return env;
}

/**
 * The V8 flags every service runs with, here and in the images (Dockerfile, NODE_OPTIONS): a
 * young generation of 2 MiB semi-spaces instead of up to 16 keeps each process near 100 MB
 * resident where it grew to 120-130 MB, for about 10-15 % more CPU per uncached request
 * (README "Performance"; within this machine's run-to-run noise).
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=2';

const DEFAULT_DELAYS_MS = [250, 500, 1_000, 2_000, 4_000];

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
  const policy = options.restart && {
    delaysMs: options.restart.delaysMs ?? DEFAULT_DELAYS_MS,
    maxRestarts: options.restart.maxRestarts ?? 5,
    stableAfterMs: options.restart.stableAfterMs ?? 30_000,
  };
  // Per instance: restarts in a row, and the pending restart (cancelled by a stop).
  const attempts = instances.map(() => 0);
  const pendingRestarts = new Map<number, NodeJS.Timeout>();

  const spawnInstance = (index: number) => {
    const { service, instance, port, url } = instances[index]!;
    const child = spawn(command, args, {
      cwd: `${ROOT}/${FOLDERS[service]}`,
      env: serviceEnvironment(service, options, { port, upstreams: all }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    const spawnedAt = Date.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) => options.onLine?.(service, line, stream, instance));
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      if (stopping || stoppingServices.has(service) || restarting.has(index)) return;
      options.onExit?.(service, code, signal);
      if (policy) superviseExit(index, { code, signal, livedMs: Date.now() - spawnedAt });
    });
    return { service, instance, url, child, exited };
  };

  function superviseExit(
    index: number,
    { code, signal, livedMs }: { code: number | null; signal: NodeJS.Signals | null; livedMs: number },
  ) {
    const { service, instance, url } = instances[index]!;
    const reason = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (livedMs >= policy!.stableAfterMs) attempts[index] = 0;
    const attempt = ++attempts[index]!;
    if (attempt > policy!.maxRestarts) {
      options.onRestart?.({ type: 'gave-up', service, instance, attempts: attempt - 1, reason });
      return;
    }
    const delayMs = policy!.delaysMs[Math.min(attempt - 1, policy!.delaysMs.length - 1)]!;
    options.onRestart?.({ type: 'restarting', service, instance, attempt, delayMs, reason });
    pendingRestarts.set(
      index,
      setTimeout(() => {
        pendingRestarts.delete(index);
        if (stopping || stoppingServices.has(service)) return;
        const started = Date.now();
        const next = spawnInstance(index);
        processes[index] = next;
        void (async () => {
          while (running(next)) {
            if (await isReady(url)) {
              options.onRestart?.({ type: 'recovered', service, instance, attempt, readyAfterMs: Date.now() - started });
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })();
      }, delayMs),
    );
  }

  const stoppingServices = new Set<ServiceName>();
  const restarting = new Set<number>();
  const processes = instances.map((_instance, index) => spawnInstance(index));
  const running = (p: (typeof processes)[number]) => p.child.exitCode === null && p.child.signalCode === null;

  async function stopService(service: ServiceName, signal: NodeJS.Signals = 'SIGTERM') {
    stoppingServices.add(service);
    instances.forEach((instance, index) => {
      if (instance.service !== service) return;
      clearTimeout(pendingRestarts.get(index));
      pendingRestarts.delete(index);
    });
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
      if (p.service !== service || running(p)) return;
      attempts[index] = 0;
      processes[index] = spawnInstance(index);
    });
    stoppingServices.delete(service);
    await waitUntilReady(
      processes.filter((p) => p.service === service),
      timeoutMs,
    );
  }

  async function restartInstance(service: ServiceName, instance: number, timeoutMs = 60_000) {
    const index = processes.findIndex((p) => p.service === service && p.instance === instance);
    if (index === -1) throw new Error(`no instance ${instance} of ${service}`);
    restarting.add(index);
    try {
      const { child, exited } = processes[index]!;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      processes[index] = spawnInstance(index);
    } finally {
      restarting.delete(index);
    }
    await waitUntilReady([processes[index]], timeoutMs);
  }

  async function waitUntilReady(which: typeof processes, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (const { service, url, child } of which) {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${service} (${url}) exited before it was ready`);
        if (await isReady(url)) break;
        if (Date.now() > deadline) throw new Error(`${service} (${url}) was not ready after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
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
    restartInstance,
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
