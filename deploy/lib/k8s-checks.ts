import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import { configProblems, connectionSettings, databaseCredentialProblems, urlEndpoints, type Edge } from './config-checks.js';
import type { Deployable, ServiceConfig } from './deployables.js';
import { containerEnvironment, literalEnvironment, type Environment } from './environment.js';
import { describeObject, findObject, type K8sObject } from './kustomize.js';
import { allows, selects, type Endpoint } from './network-policy.js';

type Workload = K8sObject & (IDeployment | IStatefulSet);

/** Everything a deployable's checks need besides the rendered objects. */
export interface DeployableFacts {
  deployable: Deployable;
  config: ServiceConfig;
  /** PORT the image sets (scripts/images.sh). */
  imagePort: number;
  /** Whether the process answers GET on this path (the routes createApp registers). */
  serves: (path: string) => boolean;
}

const PROBE_PATHS = { startupProbe: '/healthz', readinessProbe: '/readyz', livenessProbe: '/healthz' } as const;

function podLabels(workload: Workload): Record<string, string> {
  return workload.spec?.template.metadata?.labels ?? {};
}

function workloads(objects: K8sObject[]): Workload[] {
  return objects.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

/** The container port a probe or Service `port`/`targetPort` names (by name or number). */
export function resolvePort(container: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The environment of a deployable's container in the render, starting from what its image sets. */
export function deploymentEnvironment(
  objects: K8sObject[],
  facts: DeployableFacts,
): { env: Environment; container?: IContainer; problems: string[] } {
  const name = facts.deployable.name;
  const deployment = findObject<IDeployment>(objects, 'Deployment', name);
  const container = deployment?.spec?.template.spec?.containers.find((c) => c.name === name);
  if (!container) return { env: new Map(), problems: [`Deployment/${name}: missing, or has no container named ${name}`] };
  const image = literalEnvironment({ NODE_ENV: 'production', PORT: String(facts.imagePort) });
  const { env, problems } = containerEnvironment(container, objects, image);
  return { env, container, problems: problems.map((p) => `Deployment/${name}: ${p}`) };
}

/** Probes: the three exist, ask paths the process serves (readiness /readyz, liveness /healthz) on the port it listens on. */
export function probeProblems(where: string, container: IContainer, listenPort: number, serves: (path: string) => boolean): string[] {
  const problems: string[] = [];
  for (const [kind, expected] of Object.entries(PROBE_PATHS) as [keyof typeof PROBE_PATHS, string][]) {
    const probe: IProbe | undefined = container[kind];
    const get = probe?.httpGet;
    if (!get) {
      problems.push(`${where}: ${kind} must be an httpGet probe`);
      continue;
    }
    if (!get.path || !serves(get.path))
      problems.push(`${where}: ${kind} asks GET ${get.path ?? '(no path)'}, which the process does not serve`);
    else if (get.path !== expected) problems.push(`${where}: ${kind} should ask ${expected}, not ${get.path}`);
    const port = resolvePort(container, get.port);
    if (port !== listenPort)
      problems.push(`${where}: ${kind} targets port ${String(get.port)} (${port ?? 'unknown'}), but the process listens on ${listenPort}`);
  }
  return problems;
}

/** Restricted security context, resources, a writable /tmp, graceful termination. */
export function hardeningProblems(where: string, workload: Workload, container: IContainer): string[] {
  const problems: string[] = [];
  const pod = workload.spec?.template.spec;
  const podSecurity = pod?.securityContext;
  const security = container.securityContext;
  if (podSecurity?.runAsNonRoot !== true && security?.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
  if ((security?.seccompProfile ?? podSecurity?.seccompProfile)?.type !== 'RuntimeDefault')
    problems.push(`${where}: seccompProfile is not RuntimeDefault`);
  if (security?.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
  if (security?.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
  if (!security?.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
  for (const side of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory']) {
      if (container.resources?.[side]?.[resource] === undefined) problems.push(`${where}: no ${resource} ${side.slice(0, -1)}`);
    }
  }
  const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
  if (!tmp || !pod?.volumes?.some((v) => v.name === tmp.name && v.emptyDir))
    problems.push(`${where}: /tmp is not an emptyDir (the root filesystem is read-only)`);
  return problems;
}

/** preStop sleep, then the app's own shutdown (10 s in serve()), must fit in terminationGracePeriodSeconds. */
export function terminationProblems(where: string, workload: Workload, container: IContainer, appGraceSeconds = 10): string[] {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  const sleep = command[0] === 'sleep' ? Number(command[1]) : NaN;
  if (!Number.isFinite(sleep)) return [`${where}: no preStop sleep, so requests still routed to a stopping pod fail`];
  const grace = workload.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
  return sleep + appGraceSeconds < grace
    ? []
    : [`${where}: preStop ${sleep} s + shutdown ${appGraceSeconds} s do not fit in terminationGracePeriodSeconds ${grace}`];
}

/** The workload a `host:port` reaches through a Service, and the container port it lands on. */
export function serviceTarget(objects: K8sObject[], host: string, port: number): { workload: string; containerPort: number } | string {
  const service = findObject<IService>(objects, 'Service', host);
  if (!service) return `no Service named ${host}`;
  const servicePort = service.spec?.ports?.find((p) => p.port === port);
  if (!servicePort) return `Service ${host} has no port ${port}`;
  const selector = service.spec?.selector;
  const targets = workloads(objects).filter((w) => selector && selects({ matchLabels: selector }, podLabels(w)));
  if (targets.length !== 1 || !targets[0]) return `Service ${host} selects ${targets.length} workloads, expected exactly one`;
  const target = targets[0];
  const containers = target.spec?.template.spec?.containers ?? [];
  for (const container of containers) {
    const containerPort = resolvePort(container, servicePort.targetPort ?? port);
    if (containerPort !== undefined && container.ports?.some((p) => p.containerPort === containerPort))
      return { workload: target.metadata.name, containerPort };
  }
  return `Service ${host} port ${port} targets ${String(servicePort.targetPort)}, which ${describeObject(target)} does not expose`;
}

/**
 * All checks of one deployable in one render: configuration, port, probes, Service, URLs,
 * database credentials, hardening, termination, autoscaler and disruption budget.
 * Returns the problems and the connections its configuration opens.
 */
export function deploymentProblems(objects: K8sObject[], facts: DeployableFacts): { problems: string[]; edges: Edge[] } {
  const { deployable, config } = facts;
  const where = `Deployment/${deployable.name}`;
  const { env, container, problems } = deploymentEnvironment(objects, facts);
  const edges: Edge[] = [];
  if (!container) return { problems, edges };
  const deployment = findObject<K8sObject & IDeployment>(objects, 'Deployment', deployable.name) as K8sObject & IDeployment;

  problems.push(...configProblems(where, config, env));

  const listenPort = Number(env.get('PORT')?.value ?? facts.imagePort);
  const http = container.ports?.find((p) => p.name === 'http');
  if (http?.containerPort !== listenPort)
    problems.push(`${where}: containerPort "http" is ${http?.containerPort ?? 'missing'}, but the process listens on ${listenPort}`);
  problems.push(...probeProblems(where, container, listenPort, facts.serves));
  problems.push(...hardeningProblems(where, deployment, container));
  problems.push(...terminationProblems(where, deployment, container));

  const own = serviceTarget(objects, deployable.name, listenPort);
  if (typeof own === 'string') problems.push(`${where}: ${own}`);
  else if (own.workload !== deployable.name) problems.push(`${where}: Service ${deployable.name} reaches ${own.workload}`);

  for (const { variable, target } of connectionSettings(deployable, config)) {
    const setting = env.get(variable);
    if (!setting) {
      // A required one is reported by configProblems; one with a default would silently point elsewhere.
      if ('default' in (config.configSchema[variable] ?? {}))
        problems.push(
          `${where}: ${variable} is not set, so the service would use its default ${JSON.stringify(config.configSchema[variable]?.default)}`,
        );
      continue;
    }
    for (const endpoint of urlEndpoints(setting.symbol)) {
      const reached = serviceTarget(objects, endpoint.host, endpoint.port);
      if (typeof reached === 'string') problems.push(`${where}: ${variable} → ${reached}`);
      else if (reached.workload !== target) problems.push(`${where}: ${variable} reaches ${reached.workload}, expected ${target}`);
      else edges.push({ from: deployable.name, to: target, port: reached.containerPort, variable });
    }
    if (variable === 'DATABASE_URL' && deployable.database) {
      const db = findObject<IStatefulSet>(objects, 'StatefulSet', deployable.database.host);
      const postgres = db?.spec?.template.spec?.containers[0];
      if (!postgres) {
        problems.push(`${where}: no StatefulSet ${deployable.database.host}`);
        continue;
      }
      const dbEnv = containerEnvironment(postgres, objects).env;
      problems.push(
        ...databaseCredentialProblems(where, setting.symbol, {
          user: dbEnv.get('POSTGRES_USER')?.symbol,
          db: dbEnv.get('POSTGRES_DB')?.symbol,
          password: dbEnv.get('POSTGRES_PASSWORD')?.symbol,
        }),
      );
    }
  }

  const hpa = objects.find(
    (o): o is K8sObject & IHorizontalPodAutoscaler =>
      o.kind === 'HorizontalPodAutoscaler' &&
      (o as IHorizontalPodAutoscaler).spec?.scaleTargetRef.kind === 'Deployment' &&
      (o as IHorizontalPodAutoscaler).spec?.scaleTargetRef.name === deployable.name,
  );
  if (!hpa) problems.push(`${where}: no HorizontalPodAutoscaler scales it`);
  else if ((hpa.spec?.minReplicas ?? 1) > (hpa.spec?.maxReplicas ?? 0)) problems.push(`${where}: HPA minReplicas exceeds maxReplicas`);
  if (deployment.spec?.replicas !== undefined && hpa)
    problems.push(`${where}: sets replicas although an HPA owns the count (each apply would reset it)`);
  const pdb = objects.find(
    (o): o is K8sObject & IPodDisruptionBudget =>
      o.kind === 'PodDisruptionBudget' && selects((o as IPodDisruptionBudget).spec?.selector, podLabels(deployment)),
  );
  if (!pdb) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
  return { problems, edges };
}

/** Databases: one StatefulSet per owned database with a volume claim, exec probes, the same hardening. */
export function databaseProblems(objects: K8sObject[], deployable: Deployable): string[] {
  if (!deployable.database) return [];
  const { host } = deployable.database;
  const where = `StatefulSet/${host}`;
  const db = findObject<K8sObject & IStatefulSet>(objects, 'StatefulSet', host);
  const container = db?.spec?.template.spec?.containers[0];
  if (!db || !container) return [`${where}: missing`];
  const problems = hardeningProblems(where, db, container);
  const data = db.spec?.volumeClaimTemplates?.[0];
  if (!data?.spec?.resources?.requests?.storage) problems.push(`${where}: no PersistentVolumeClaim template with a storage request`);
  if (!container.volumeMounts?.some((m) => m.name === data?.metadata?.name && m.mountPath === '/var/lib/postgresql/data'))
    problems.push(`${where}: the claim is not mounted at /var/lib/postgresql/data`);
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
    if (container[kind]?.exec?.command?.[0] !== 'pg_isready') problems.push(`${where}: ${kind} is not pg_isready`);
  }
  const reached = serviceTarget(objects, host, 5432);
  if (typeof reached === 'string') problems.push(`${where}: ${reached}`);
  return problems;
}

/** The Ingress routes to the gateway's Service and nothing else. */
export function ingressProblems(objects: K8sObject[]): string[] {
  const ingresses = objects.filter((o): o is K8sObject & IIngress => o.kind === 'Ingress');
  if (ingresses.length === 0) return ['no Ingress for the gateway'];
  const backends = ingresses.flatMap((i) =>
    (i.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend.service?.name)),
  );
  return backends
    .filter((name) => name !== 'gateway')
    .map((name) => `Ingress routes to ${name ?? '(no service)'}: only the gateway may be reachable from outside`);
}

/** A NetworkPolicy with a selector of its own (not `{}`) picks these pods: someone decided who may reach them. */
function ownPolicy(objects: K8sObject[], labels: Record<string, string>): boolean {
  return objects.some((o) => {
    const selector = (o as K8sObject & INetworkPolicy).spec?.podSelector;
    const own = Object.keys(selector?.matchLabels ?? {}).length > 0 || (selector?.matchExpressions ?? []).length > 0;
    return o.kind === 'NetworkPolicy' && own && selects(selector, labels);
  });
}

/**
 * NetworkPolicies allow exactly the configured connections: every edge (plus DNS, plus outside →
 * gateway) is allowed, and no other pair of workloads, outside → anything else, or workload →
 * the internet, is. Every workload (services, databases, the broker) has a policy of its own.
 */
export function networkPolicyProblems(objects: K8sObject[], edges: Edge[], namespace: string, gateway = 'gateway'): string[] {
  const problems: string[] = [];
  const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
  const endpointOf = (w: Workload): Endpoint => ({ namespace, namespaceLabels: nsLabels(namespace), labels: podLabels(w) });
  const all = workloads(objects);
  const byName = new Map(all.map((w) => [w.metadata.name, w]));
  const outside: Endpoint = {
    namespace: 'ingress-nginx',
    namespaceLabels: nsLabels('ingress-nginx'),
    labels: { 'app.kubernetes.io/name': 'ingress-nginx' },
  };
  const internet: Endpoint = { namespace: '', namespaceLabels: {}, labels: {}, ip: true };
  const dns: Endpoint = { namespace: 'kube-system', namespaceLabels: nsLabels('kube-system'), labels: { 'k8s-app': 'kube-dns' } };
  const portsOf = (w: Workload) => (w.spec?.template.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));

  for (const edge of edges) {
    const from = byName.get(edge.from);
    const to = byName.get(edge.to);
    if (!from || !to) continue;
    if (!allows(objects, endpointOf(from), endpointOf(to), edge.port))
      problems.push(`NetworkPolicy: ${edge.from} cannot reach ${edge.to}:${edge.port}, which its ${edge.variable} needs`);
  }
  for (const from of all) {
    for (const to of all) {
      if (from === to) continue;
      for (const port of portsOf(to)) {
        const expected = edges.some((e) => e.from === from.metadata.name && e.to === to.metadata.name && e.port === port);
        if (!expected && allows(objects, endpointOf(from), endpointOf(to), port))
          problems.push(`NetworkPolicy: ${from.metadata.name} can reach ${to.metadata.name}:${port}, which nothing configures`);
      }
    }
    const self = endpointOf(from);
    if (!ownPolicy(objects, podLabels(from)))
      problems.push(`NetworkPolicy: none is written for ${from.metadata.name}; only the namespace-wide ones select it`);
    if (!allows(objects, self, dns, 53, 'UDP')) problems.push(`NetworkPolicy: ${from.metadata.name} cannot reach cluster DNS`);
    if (allows(objects, self, internet, 443)) problems.push(`NetworkPolicy: ${from.metadata.name} can reach the internet`);
    for (const port of portsOf(from)) {
      const reachable = allows(objects, outside, self, port) || allows(objects, internet, self, port);
      if (from.metadata.name === gateway && !allows(objects, outside, self, port))
        problems.push(`NetworkPolicy: the gateway is not reachable from the Ingress controller on ${port}`);
      if (from.metadata.name !== gateway && reachable)
        problems.push(`NetworkPolicy: ${from.metadata.name}:${port} is reachable from outside the namespace`);
    }
  }
  return problems;
}
