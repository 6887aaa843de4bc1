import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { serviceNetworks, type ComposeFile } from './compose-file.js';
import { EVENT_BROKER, type EventBroker } from './deployables.js';
import { hardeningProblems, resolvePort, serviceTarget } from './k8s-checks.js';
import { findObject, type K8sObject } from './kustomize.js';

/** The nats-server flags the checks read, from its command line (Go flags: -x, --x, -x=v). */
export interface NatsArguments {
  jetstream: boolean;
  storeDir?: string;
  httpPort?: number;
  port?: number;
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
    if (key === 'storeDir') parsed.storeDir = value;
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
 * monitoring port's /healthz, nothing published, hardened like the services, and on networks
 * (internal) that only the processes reading EVENT_BUS_URL join.
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

  if ((service.ports ?? []).length > 0)
    problems.push(`${where}: publishes ${service.ports?.join(', ')}; only the gateway may be reachable from outside`);
  if (service.read_only !== true) problems.push(`${where}: the root filesystem is writable (read_only)`);
  if (!(service.cap_drop ?? []).includes('ALL')) problems.push(`${where}: capabilities are not dropped (cap_drop: ALL)`);
  if (!(service.security_opt ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o)))
    problems.push(`${where}: no-new-privileges is not set`);

  for (const network of serviceNetworks(service)) {
    if (compose.networks?.[network]?.internal !== true) problems.push(`${where}: network ${network} is not internal`);
    for (const [name, other] of Object.entries(compose.services)) {
      if (name !== broker.host && !clients.includes(name) && serviceNetworks(other).includes(network))
        problems.push(`${where}: ${name} shares network ${network} with the broker but reads no EVENT_BUS_URL`);
    }
  }
  return problems;
}

/**
 * The broker on Kubernetes: a StatefulSet of exactly one server (more would be separate servers
 * with separate streams), JetStream on a volume claim, probes on the monitoring port's /healthz,
 * the same hardening as every pod, and a Service on the client port.
 */
export function brokerProblems(objects: K8sObject[], broker: EventBroker = EVENT_BROKER): string[] {
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
  return problems;
}
