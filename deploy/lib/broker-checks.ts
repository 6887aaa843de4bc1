import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { eventBusSettings } from '@mini/shared';
import { lockedDownProblems, serviceEnvironment, serviceNetworks, type ComposeFile, type ComposeService } from './compose-file.js';
import { EVENT_BROKER, EVENT_BUS_SETTINGS, ROOT, type EventBroker } from './deployables.js';
import { containerEnvironment, type EnvValue } from './environment.js';
import { hardeningProblems, resolvePort, serviceTarget } from './k8s-checks.js';
import { findObject, type K8sObject } from './kustomize.js';
import { eventRoleOf, natsAuthorizationProblems } from './nats-auth.js';

/** The nats-server flags the checks read, from its command line (Go flags: -x, --x, -x=v). */
export interface NatsArguments {
  jetstream: boolean;
  storeDir?: string;
  httpPort?: number;
  port?: number;
  /** The config file (--config): the services' users and their permissions. */
  configFile?: string;
}

const FLAGS: Record<string, keyof NatsArguments> = {
  js: 'jetstream',
  jetstream: 'jetstream',
  sd: 'storeDir',
  store_dir: 'storeDir',
  m: 'httpPort',
  http_port: 'httpPort',
  p: 'port',
  port: 'port',
  c: 'configFile',
  config: 'configFile',
};

/** Reads nats-server's arguments; a leading program name (`nats-server`, as the entrypoint allows) is skipped. */
export function parseNatsArguments(command: string | readonly string[] | undefined): NatsArguments {
  const words = typeof command === 'string' ? command.trim().split(/\s+/) : [...(command ?? [])];
  while (words.length > 0 && !words[0]?.startsWith('-')) words.shift();
  const parsed: NatsArguments = { jetstream: false };
  for (let i = 0; i < words.length; i++) {
    const match = /^--?([A-Za-z_]+)(?:=(.*))?$/.exec(words[i] ?? '');
    const key = match ? FLAGS[match[1] as string] : undefined;
    if (!match || !key) continue;
    if (key === 'jetstream') {
      parsed.jetstream = match[2] === undefined || match[2] === 'true';
      continue;
    }
    const value = match[2] ?? words[++i];
    if (value === undefined) continue;
    if (key === 'storeDir' || key === 'configFile') parsed[key] = value;
    else parsed[key] = Number(value);
  }
  return parsed;
}

/** What both runtimes must give the broker: JetStream on, a store, monitoring where the health checks ask, clients on the usual port. */
function argumentProblems(where: string, args: NatsArguments, broker: EventBroker): string[] {
  const problems: string[] = [];
  if (!args.jetstream) problems.push(`${where}: JetStream is not enabled (--jetstream), and the services need its streams`);
  if (!args.storeDir) problems.push(`${where}: no --store_dir, so JetStream would keep its streams in a temporary folder`);
  else if (args.storeDir !== broker.storeDir) problems.push(`${where}: stores in ${args.storeDir}, expected ${broker.storeDir}`);
  if (args.httpPort !== broker.monitorPort)
    problems.push(
      `${where}: monitoring (--http_port) is on ${args.httpPort ?? 'no port'}, but the health checks ask ${broker.monitorPort}`,
    );
  if (args.port !== undefined && args.port !== broker.clientPort)
    problems.push(`${where}: clients on port ${args.port}, but EVENT_BUS_URL and the Service use ${broker.clientPort}`);
  return problems;
}

/**
 * The broker in Compose: JetStream with its store on a named volume, a health check on the
 * monitoring port's /healthz, nothing published, hardened like the services, on networks
 * (internal) that only the processes reading EVENT_BUS_URL (`clients`) join, and with a user of
 * its own for each of them.
 */
export function composeBrokerProblems(compose: ComposeFile, clients: readonly string[], broker: EventBroker = EVENT_BROKER): string[] {
  const where = `compose ${broker.host}`;
  const service = compose.services[broker.host];
  if (!service) return [`${where}: no such service`];
  const args = parseNatsArguments(service.command);
  const problems = argumentProblems(where, args, broker);
  const volume = (service.volumes ?? []).map((v) => /^([\w.-]+):([^:]+)(?::[a-z]+)?$/.exec(v)).find((m) => m?.[2] === args.storeDir);
  if (args.storeDir && !(volume && volume[1] && compose.volumes && volume[1] in compose.volumes))
    problems.push(`${where}: the store ${args.storeDir} is on no named volume, so the events go with the container`);

  const test = service.healthcheck?.test;
  const command = Array.isArray(test) ? test.slice(1).join(' ') : (test ?? '');
  const url = /https?:\/\/[^\s'"]+/.exec(command)?.[0];
  if (service.healthcheck?.disable || !url) problems.push(`${where}: no health check, so the services cannot wait for it to be healthy`);
  else {
    const { hostname, port, pathname } = new URL(url);
    if (!['127.0.0.1', 'localhost'].includes(hostname) || Number(port) !== broker.monitorPort || !pathname.startsWith('/healthz'))
      problems.push(`${where}: the health check asks ${url}, not /healthz on its own monitoring port ${broker.monitorPort}`);
  }

  problems.push(...lockedDownProblems(where, service));

  for (const network of serviceNetworks(service)) {
    if (compose.networks?.[network]?.internal !== true) problems.push(`${where}: network ${network} is not internal`);
    for (const [name, other] of Object.entries(compose.services)) {
      if (name !== broker.host && !clients.includes(name) && serviceNetworks(other).includes(network))
        problems.push(`${where}: ${name} shares network ${network} with the broker but reads no EVENT_BUS_URL`);
    }
  }
  return [...problems, ...composeCredentialProblems(compose, service, args.configFile, clients, where)];
}

/**
 * The broker on Kubernetes: a StatefulSet of exactly one server (more would be separate servers
 * with separate streams), JetStream on a volume claim, probes on the monitoring port's /healthz,
 * the same hardening as every pod, a Service on the client port, and a user of its own for each
 * of `clients` (the Deployments that read EVENT_BUS_URL).
 */
export function brokerProblems(objects: K8sObject[], clients: readonly string[], broker: EventBroker = EVENT_BROKER): string[] {
  const where = `StatefulSet/${broker.host}`;
  const statefulSet = findObject<K8sObject & IStatefulSet>(objects, 'StatefulSet', broker.host);
  const container: IContainer | undefined = statefulSet?.spec?.template.spec?.containers.find((c) => c.name === broker.host);
  if (!statefulSet || !container) return [`${where}: missing, or has no container named ${broker.host}`];
  const problems = hardeningProblems(where, statefulSet, container);
  const replicas = statefulSet.spec?.replicas ?? 1;
  if (replicas !== 1) problems.push(`${where}: ${replicas} replicas would be separate NATS servers, each with its own streams: run 1`);

  const args = parseNatsArguments([...(container.command ?? []), ...(container.args ?? [])]);
  problems.push(...argumentProblems(where, args, broker));
  const claim = statefulSet.spec?.volumeClaimTemplates?.find((c) =>
    container.volumeMounts?.some((m) => m.name === c.metadata?.name && m.mountPath === args.storeDir),
  );
  if (args.storeDir && !claim?.spec?.resources?.requests?.storage)
    problems.push(`${where}: the store ${args.storeDir} is on no PersistentVolumeClaim with a storage request`);

  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    const get = container[kind]?.httpGet;
    if (!get?.path?.startsWith('/healthz')) {
      problems.push(`${where}: ${kind} is not an httpGet of /healthz`);
      continue;
    }
    const port = resolvePort(container, get.port);
    if (port !== broker.monitorPort || !container.ports?.some((p) => p.containerPort === port))
      problems.push(
        `${where}: ${kind} targets port ${String(get.port)} (${port ?? 'unknown'}), but monitoring listens on ${broker.monitorPort}`,
      );
  }

  const reached = serviceTarget(objects, broker.host, broker.clientPort);
  if (typeof reached === 'string') problems.push(`${where}: ${reached}`);
  else if (reached.workload !== broker.host || reached.containerPort !== broker.clientPort)
    problems.push(`${where}: Service ${broker.host} port ${broker.clientPort} reaches ${reached.workload}:${reached.containerPort}`);
  return [...problems, ...credentialProblems(objects, statefulSet, container, args.configFile, clients, where)];
}

const USER = 'EVENT_BUS_USER';
const PASSWORD = 'EVENT_BUS_PASSWORD';
const NO_CONFIG = "no --config, so nats-server runs without the services' users and lets anyone publish anything";

/** The namespace all clients use (else undefined: agreementProblems reports the disagreement). */
function agreedNamespace(values: (string | undefined)[]): string | undefined {
  const distinct = new Set(values.map((value) => value ?? eventBusSettings.EVENT_BUS_NAMESPACE.default));
  return distinct.size === 1 ? [...distinct][0] : undefined;
}

/** A client of the broker names its own user (its deployable name) and has a password. */
function clientProblems(where: string, name: string, user: string | undefined, hasPassword: boolean): string[] {
  if (!user && !hasPassword) return [`${where}: no ${USER} and ${PASSWORD}, so the broker refuses it`];
  const problems: string[] = [];
  if (user !== name) problems.push(`${where}: ${USER} is ${user ?? '(not set)'}, but its user on the broker is ${name}`);
  if (!hasPassword) problems.push(`${where}: no ${PASSWORD}, so the broker refuses it`);
  return problems;
}

/**
 * Compose: nats-server reads a config file of the repository (mounted) that gives each client
 * exactly its own user and permissions; each client connects as that user with the password the
 * broker's environment hands nats-server, single-quoted.
 */
function composeCredentialProblems(
  compose: ComposeFile,
  nats: ComposeService,
  configFile: string | undefined,
  clients: readonly string[],
  where: string,
): string[] {
  if (!configFile) return [`${where}: ${NO_CONFIG}`];
  const mount = (nats.volumes ?? []).map((v) => /^(\.{1,2}\/[^:]+):([^:]+?)(?::ro)?$/.exec(v)).find((m) => m?.[2] === configFile);
  if (!mount?.[1]) return [`${where}: ${configFile} (--config) is mounted from no file of the repository`];
  let text: string;
  try {
    text = readFileSync(join(ROOT, mount[1]), 'utf8');
  } catch {
    return [`${where}: ${mount[1]}, mounted as ${configFile} (--config), does not exist`];
  }
  const envs = clients.map((name) => ({ name, env: serviceEnvironment(compose.services[name] ?? {}) }));
  const namespace = agreedNamespace(envs.map((c) => c.env[EVENT_BUS_SETTINGS.namespace]));
  if (!namespace) return [];
  const auth = natsAuthorizationProblems(`${where} ${mount[1]}`, text, clients.map(eventRoleOf), namespace);
  const problems = [...auth.problems];
  const natsEnv = serviceEnvironment(nats);
  for (const { name, env } of envs) {
    const password = env[PASSWORD];
    problems.push(...clientProblems(`compose ${name}`, name, env[USER], !!password));
    const variable = auth.passwordVariables.get(name);
    if (variable && password && natsEnv[variable] !== `'${password}'`)
      problems.push(`${where}: ${variable} is not ${name}'s ${PASSWORD} in single quotes, so the broker would not take it`);
  }
  return problems;
}

/**
 * Kubernetes: the same, with the config in a ConfigMap mounted where --config points, and each
 * password read from the Secret by both the client (EVENT_BUS_PASSWORD) and the broker
 * (single-quoted).
 */
function credentialProblems(
  objects: K8sObject[],
  statefulSet: IStatefulSet,
  container: IContainer,
  configFile: string | undefined,
  clients: readonly string[],
  where: string,
): string[] {
  if (!configFile) return [`${where}: ${NO_CONFIG}`];
  const dir = posix.dirname(configFile);
  const file = posix.basename(configFile);
  const mount = container.volumeMounts?.find((m) => m.mountPath === dir && !m.subPath);
  const volume = statefulSet.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
  const configMap = volume?.configMap?.name ? findObject(objects, 'ConfigMap', volume.configMap.name) : undefined;
  const text = (configMap?.data as Record<string, string> | undefined)?.[file];
  if (text === undefined) return [`${where}: ${configFile} (--config) is in no ConfigMap mounted at ${dir}`];

  const envs = clients.map((name) => {
    const deployment = findObject<IDeployment>(objects, 'Deployment', name);
    const client = deployment?.spec?.template.spec?.containers.find((c) => c.name === name);
    return { name, env: client ? containerEnvironment(client, objects).env : new Map<string, EnvValue>() };
  });
  const namespace = agreedNamespace(envs.map((c) => c.env.get(EVENT_BUS_SETTINGS.namespace)?.symbol));
  if (!namespace) return [];
  const auth = natsAuthorizationProblems(`${where} ${file}`, text, clients.map(eventRoleOf), namespace);
  const problems = [...auth.problems];
  const natsEnv = containerEnvironment(container, objects).env;
  for (const { name, env } of envs) {
    const password = env.get(PASSWORD);
    problems.push(...clientProblems(`Deployment/${name}`, name, env.get(USER)?.value, !!password));
    if (!password) continue;
    if (!password.symbol.startsWith('secret.')) problems.push(`Deployment/${name}: ${PASSWORD} is not read from a Secret`);
    const variable = auth.passwordVariables.get(name);
    if (variable && natsEnv.get(variable)?.symbol !== `'${password.symbol}'`)
      problems.push(
        `${where}: ${variable} is not ${name}'s ${PASSWORD} (${password.symbol}) in single quotes, so the broker would not take it`,
      );
  }
  return problems;
}
