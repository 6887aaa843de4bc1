import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { lockedDownProblems, serviceEnvironment, serviceNetworks, type ComposeFile } from './compose-file.js';
import type { Edge } from './config-checks.js';
import { RATE_LIMIT_STORE, type RateLimitStore } from './deployables.js';
import { containerEnvironment, type Environment } from './environment.js';
import { hardeningProblems, serviceTarget } from './k8s-checks.js';
import { findObject, type K8sObject } from './kustomize.js';

/**
 * redis-server's options from its command line (`--name value...`, a value may be '' or several
 * words); a leading program name or configuration file, as the image's entrypoint allows, is skipped.
 */
export function parseRedisArguments(command: string | readonly string[] | undefined): Map<string, string> {
  const words = typeof command === 'string' ? command.trim().split(/\s+/) : [...(command ?? [])];
  while (words.length > 0 && !words[0]?.startsWith('--')) words.shift();
  const values = new Map<string, string[]>();
  let name: string | undefined;
  for (const word of words) {
    if (word.startsWith('--')) {
      name = word.slice(2).toLowerCase();
      values.set(name, []);
    } else if (name) values.get(name)?.push(word);
  }
  return new Map([...values].map(([key, parts]) => [key, parts.join(' ')]));
}

/** What both runtimes must give Redis: a password, no persistence, the port the clients use. */
function argumentProblems(where: string, args: Map<string, string>, store: RateLimitStore): string[] {
  const problems: string[] = [];
  if (!args.get('requirepass'))
    problems.push(`${where}: no --requirepass, so whatever reaches it may read and reset the rate-limit counters`);
  // Redis snapshots by default, and refuses writes once a snapshot fails (a read-only /data).
  if (args.get('save') !== '')
    problems.push(
      `${where}: snapshots its counters (${args.has('save') ? `--save ${args.get('save')}` : "no --save ''"}), which are disposable`,
    );
  if (args.get('appendonly') === 'yes') problems.push(`${where}: --appendonly yes writes every counter to disk, and they are disposable`);
  const port = args.get('port');
  if (port !== undefined && Number(port) !== store.port)
    problems.push(`${where}: listens on ${port}, but ${store.urlSetting} and the clients use ${store.port}`);
  return problems;
}

/** The client's URL: a redis:// URL with the password Redis requires; returns where it points. */
function clientUrl(
  where: string,
  value: string | undefined,
  store: RateLimitStore,
  password: string | undefined,
): { problems: string[]; endpoint?: { host: string; port: number } } {
  if (!value) return { problems: [`${where}: ${store.urlSetting} is not set, so each replica counts in its own memory`] };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problems: [`${where}: ${store.urlSetting} is not a URL`] };
  }
  const problems: string[] = [];
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    problems.push(`${where}: ${store.urlSetting} must be a redis:// URL, not ${url.protocol}`);
  if (password && decodeURIComponent(url.password) !== password)
    problems.push(`${where}: ${store.urlSetting} carries another password than the one ${store.host} requires (--requirepass)`);
  return { problems, endpoint: { host: url.hostname, port: url.port ? Number(url.port) : 6379 } };
}

/** A health check or probe command: redis-cli ping, whose answer must be PONG (it exits 0 on NOAUTH too). */
function pingProblem(what: string, command: string): string | undefined {
  if (!/\bredis-cli\b.*\bping\b/i.test(command)) return `${what} does not ping it with redis-cli`;
  if (!/PONG/.test(command)) return `${what} trusts redis-cli's exit code, which is 0 on an error answer (NOAUTH) too: look for PONG`;
  return undefined;
}

/**
 * Redis in Compose: a password the gateway's REDIS_URL carries, no persistence, a health check
 * that pings with that password, nothing published, hardened like the services (and not root),
 * on internal networks only the gateway joins; the gateway starts after it. Returns the
 * connection REDIS_URL opens.
 */
export function composeRateLimitStoreProblems(
  compose: ComposeFile,
  store: RateLimitStore = RATE_LIMIT_STORE,
): { problems: string[]; edges: Edge[] } {
  const where = `compose ${store.host}`;
  const service = compose.services[store.host];
  if (!service) return { problems: [`${where}: no such service`], edges: [] };
  const args = parseRedisArguments(service.command);
  const password = args.get('requirepass');
  const problems = argumentProblems(where, args, store);

  const test = service.healthcheck?.test;
  const command = Array.isArray(test) ? test.slice(1).join(' ') : (test ?? '');
  const ping = service.healthcheck?.disable ? 'the health check is disabled' : pingProblem('the health check', command);
  if (ping) problems.push(`${where}: ${ping}`);
  else if (password && serviceEnvironment(service).REDISCLI_AUTH !== password)
    problems.push(`${where}: REDISCLI_AUTH is not the --requirepass password, so the health check's redis-cli is refused`);

  problems.push(...lockedDownProblems(where, service));
  const user = String(service.user ?? '');
  if (!user || /^(0|root)(:|$)/.test(user)) problems.push(`${where}: runs as root: set user to the image's redis user (999:1000)`);

  const networks = serviceNetworks(service);
  for (const network of networks) {
    if (compose.networks?.[network]?.internal !== true) problems.push(`${where}: network ${network} is not internal`);
    for (const [name, other] of Object.entries(compose.services)) {
      if (name !== store.host && name !== store.client && serviceNetworks(other).includes(network))
        problems.push(`${where}: ${name} shares network ${network} with Redis, but only the ${store.client} connects to it`);
    }
  }

  const edges: Edge[] = [];
  const clientWhere = `compose ${store.client}`;
  const client = compose.services[store.client];
  if (!client) return { problems: [...problems, `${clientWhere}: no such service`], edges };
  const url = clientUrl(clientWhere, serviceEnvironment(client)[store.urlSetting], store, password);
  problems.push(...url.problems);
  if (url.endpoint) {
    const { host, port } = url.endpoint;
    const listens = Number(args.get('port') ?? store.port);
    if (host !== store.host) problems.push(`${clientWhere}: ${store.urlSetting} reaches ${host}, expected ${store.host}`);
    else if (port !== listens) problems.push(`${clientWhere}: ${store.urlSetting} uses port ${port}, but ${host} listens on ${listens}`);
    else if (!serviceNetworks(client).some((n) => networks.includes(n)))
      problems.push(`${clientWhere}: shares no network with ${host}, which its ${store.urlSetting} needs`);
    else edges.push({ from: store.client, to: host, port, variable: store.urlSetting });
  }
  const dependsOn = client.depends_on ?? {};
  if (!(Array.isArray(dependsOn) ? dependsOn.includes(store.host) : store.host in dependsOn))
    problems.push(`${clientWhere}: does not start after ${store.host} (depends_on), so it may begin counting in memory`);
  return { problems, edges };
}

/** `$(VAR)` in a command or argument, as the kubelet expands it (symbols, so secrets compare by key). */
function expandReferences(word: string, env: Environment): string {
  return word.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string) => env.get(name)?.symbol ?? match);
}

/**
 * Redis on Kubernetes: a Deployment of exactly one server (a second would count on its own)
 * without persistence, its password from the Secret and the same one in the gateway's REDIS_URL,
 * exec probes that ping with it, the same hardening as every pod, and a Service on its port.
 * Returns the connection REDIS_URL opens (the NetworkPolicy check must allow exactly that).
 */
export function rateLimitStoreProblems(
  objects: K8sObject[],
  store: RateLimitStore = RATE_LIMIT_STORE,
): { problems: string[]; edges: Edge[] } {
  const where = `Deployment/${store.host}`;
  const deployment = findObject<K8sObject & IDeployment>(objects, 'Deployment', store.host);
  const container: IContainer | undefined = deployment?.spec?.template.spec?.containers.find((c) => c.name === store.host);
  if (!deployment || !container) return { problems: [`${where}: missing, or has no container named ${store.host}`], edges: [] };
  const problems = hardeningProblems(where, deployment, container);
  const replicas = deployment.spec?.replicas ?? 1;
  if (replicas !== 1) problems.push(`${where}: ${replicas} replicas would be separate Redis servers, each with its own counters: run 1`);

  const { env, problems: envProblems } = containerEnvironment(container, objects);
  problems.push(...envProblems.map((p) => `${where}: ${p}`));
  const args = parseRedisArguments([...(container.command ?? []), ...(container.args ?? [])].map((w) => expandReferences(w, env)));
  problems.push(...argumentProblems(where, args, store));
  const password = args.get('requirepass');
  if (password && !(password.startsWith('secret.') && password.endsWith(`.${store.passwordKey}`)))
    problems.push(`${where}: --requirepass is not read from the Secret key ${store.passwordKey}`);

  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    const command = container[kind]?.exec?.command;
    const ping = command ? pingProblem(kind, command.join(' ')) : `${kind} is not an exec probe that pings it with redis-cli`;
    if (ping) problems.push(`${where}: ${ping}`);
  }
  if (password && env.get('REDISCLI_AUTH')?.symbol !== password)
    problems.push(`${where}: REDISCLI_AUTH is not the --requirepass password, so the probes' redis-cli is refused`);

  const own = serviceTarget(objects, store.host, store.port);
  if (typeof own === 'string') problems.push(`${where}: ${own}`);
  else if (own.workload !== store.host || own.containerPort !== Number(args.get('port') ?? store.port))
    problems.push(`${where}: Service ${store.host} port ${store.port} reaches ${own.workload}:${own.containerPort}`);

  const edges: Edge[] = [];
  const clientWhere = `Deployment/${store.client}`;
  const client = findObject<IDeployment>(objects, 'Deployment', store.client)?.spec?.template.spec?.containers.find(
    (c) => c.name === store.client,
  );
  if (!client) return { problems: [...problems, `${clientWhere}: missing, or has no container named ${store.client}`], edges };
  const url = clientUrl(clientWhere, containerEnvironment(client, objects).env.get(store.urlSetting)?.symbol, store, password);
  problems.push(...url.problems);
  if (url.endpoint) {
    const reached = serviceTarget(objects, url.endpoint.host, url.endpoint.port);
    if (typeof reached === 'string') problems.push(`${clientWhere}: ${store.urlSetting} → ${reached}`);
    else if (reached.workload !== store.host)
      problems.push(`${clientWhere}: ${store.urlSetting} reaches ${reached.workload}, expected ${store.host}`);
    else edges.push({ from: store.client, to: store.host, port: reached.containerPort, variable: store.urlSetting });
  }
  return { problems, edges };
}
