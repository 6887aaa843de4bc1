import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { beforeAll, describe, expect, test } from 'vitest';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { brokerProblems } from '../lib/broker-checks.js';
import { missingStandins, standinImages } from '../lib/build-files.js';
import { parseDotEnv } from '../lib/compose-file.js';
import { agreementProblems, type Edge } from '../lib/config-checks.js';
import { DESIGNED_CONNECTIONS, EVENT_BROKER, EVENT_BUS_SETTINGS, readRepoFile, requiredVariables, ROOT } from '../lib/deployables.js';
import { loadRepoFacts, type RepoFacts } from '../lib/facts.js';
import { databaseProblems, deploymentEnvironment, deploymentProblems, ingressProblems, networkPolicyProblems } from '../lib/k8s-checks.js';
import { describeObject, findKubectl, findObject, OVERLAYS, renderKustomization, type K8sObject } from '../lib/kustomize.js';
import { parseRedisArguments, rateLimitStoreProblems } from '../lib/redis-checks.js';
import { schemaProblems, unknownFieldProblems } from '../lib/schema-check.js';

const kubectl = findKubectl();
// Outside CI a machine without kubectl may skip these; in CI they always run (and fail without it).
const skip = !kubectl && process.env.CI !== 'true';
if (skip)
  console.warn('deploy/__tests__/kubernetes.test.ts: skipped, kubectl is not on the PATH (install it to render the Kustomize overlays)');

const NAMESPACE = 'mini-ecommerce';
let facts: RepoFacts;
const rendered = new Map<string, K8sObject[]>();

beforeAll(async () => {
  facts = await loadRepoFacts();
  if (skip) return;
  for (const overlay of OVERLAYS) rendered.set(overlay, renderKustomization(overlay));
});

function objectsOf(overlay: string): K8sObject[] {
  const objects = rendered.get(overlay);
  if (!objects) throw new Error(`${overlay} was not rendered`);
  return structuredClone(objects);
}

/** Every consistency check on one render; `edges` are the connections its configuration opens. */
function checkRender(objects: K8sObject[]): { problems: string[]; edges: Edge[] } {
  const problems: string[] = [];
  const edges: Edge[] = [];
  for (const d of facts.deployables) {
    const result = deploymentProblems(objects, d);
    problems.push(...result.problems, ...databaseProblems(objects, d.deployable));
    edges.push(...result.edges);
  }
  const clients = facts.deployables.filter((d) => EVENT_BUS_SETTINGS.url in d.config.configSchema);
  problems.push(...brokerProblems(objects, brokerClients()));
  problems.push(
    ...agreementProblems(
      'Kubernetes',
      EVENT_BUS_SETTINGS.namespace,
      clients.map((d) => ({ name: d.deployable.name, config: d.config, env: deploymentEnvironment(objects, d).env })),
    ),
  );
  const rateLimitStore = rateLimitStoreProblems(objects);
  problems.push(...rateLimitStore.problems);
  edges.push(...rateLimitStore.edges);
  problems.push(...ingressProblems(objects));
  problems.push(...networkPolicyProblems(objects, edges, NAMESPACE));
  return { problems, edges };
}

/** The deployables whose configSchema reads EVENT_BUS_URL: each needs its own user on the broker. */
function brokerClients(): string[] {
  return facts.deployables.filter((d) => EVENT_BUS_SETTINGS.url in d.config.configSchema).map((d) => d.deployable.name);
}

function statefulSet(objects: K8sObject[], name: string): IStatefulSet {
  const found = findObject<IStatefulSet>(objects, 'StatefulSet', name);
  if (!found) throw new Error(`no StatefulSet ${name}`);
  return found;
}

function natsContainer(objects: K8sObject[]) {
  const found = statefulSet(objects, EVENT_BROKER.host).spec?.template.spec?.containers[0];
  if (!found) throw new Error('no nats container');
  return found;
}

function deployment(objects: K8sObject[], name: string): IDeployment {
  const found = findObject<IDeployment>(objects, 'Deployment', name);
  if (!found) throw new Error(`no Deployment ${name}`);
  return found;
}

function container(objects: K8sObject[], name: string) {
  const found = deployment(objects, name).spec?.template.spec?.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

describe.skipIf(skip)('Kubernetes manifests (kubectl kustomize)', () => {
  describe.each(OVERLAYS)('%s', (overlay) => {
    test('renders, and every object validates against the Kubernetes schema', () => {
      const objects = objectsOf(overlay);
      expect(objects.length).toBeGreaterThan(20);
      expect(schemaProblems(objects)).toEqual([]);
    });

    test('no object carries a field the Kubernetes schema does not know', () => {
      expect(unknownFieldProblems(objectsOf(overlay))).toEqual([]);
    });

    test('everything lives in the mini-ecommerce namespace, which enforces the restricted Pod Security Standard', () => {
      const objects = objectsOf(overlay);
      const namespaced = objects.filter((o) => o.kind !== 'Namespace');
      expect(namespaced.filter((o) => o.metadata.namespace !== NAMESPACE).map(describeObject)).toEqual([]);
      expect(findObject(objects, 'Namespace', NAMESPACE)?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    });

    test('every deployable passes the consistency checks: config, ports, probes, URLs, credentials, hardening, HPA, PDB, policies', () => {
      expect(checkRender(objectsOf(overlay)).problems).toEqual([]);
    });

    test('the broker is one NATS server with JetStream on its own volume claim, reachable on 4222 from product and order only', () => {
      const objects = objectsOf(overlay);
      expect(brokerProblems(objects, brokerClients())).toEqual([]);
      const claim = statefulSet(objects, EVENT_BROKER.host).spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
      expect(claim).toBe(overlay === 'k8s/overlays/prod' ? '20Gi' : '1Gi');
      const config = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
      expect(config.data.EVENT_BUS_URL).toBe(`nats://${EVENT_BROKER.host}:${EVENT_BROKER.clientPort}`);
    });
  });

  test("Redis is one server without persistence, its password the Secret's REDIS_PASSWORD as in the gateway's REDIS_URL, reachable on 6379 from the gateway only, with Compose's image", () => {
    for (const overlay of OVERLAYS) {
      const objects = objectsOf(overlay);
      expect(rateLimitStoreProblems(objects).problems, overlay).toEqual([]);
      const redis = container(objects, 'redis');
      expect(redis.image, overlay).toBe(facts.compose.services.redis?.image);
      const args = parseRedisArguments(redis.args);
      expect([args.get('requirepass'), args.get('save'), args.get('appendonly')], overlay).toEqual(['$(REDIS_PASSWORD)', '', 'no']);
      expect(redis.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef?.key, overlay).toBe('REDIS_PASSWORD');
      expect(container(objects, 'gateway').env?.find((e) => e.name === 'REDIS_URL')?.value, overlay).toBe(
        'redis://:$(REDIS_PASSWORD)@redis:6379/0',
      );
      expect(
        deployment(objects, 'redis').spec?.template.spec?.volumes?.some((v) => v.persistentVolumeClaim),
        overlay,
      ).toBe(false);
    }
  });

  test('the configured connections are the designed ones, so the NetworkPolicies allow exactly those', () => {
    const edges = checkRender(objectsOf('k8s/overlays/dev')).edges.map((e) => `${e.from} -> ${e.to}:${e.port}`);
    expect(edges.sort()).toEqual([...DESIGNED_CONNECTIONS].sort());
  });

  test('images: the names scripts/images.sh builds, tagged as it tags them in dev and with the release version in prod; PostgreSQL and NATS as in Compose', () => {
    const composeDb = facts.compose.services['user-db']?.image;
    const composeNats = facts.compose.services[EVENT_BROKER.host]?.image;
    for (const [overlay, tag] of [
      ['k8s/overlays/dev', facts.images.tag],
      ['k8s/overlays/prod', facts.rootVersion],
    ] as const) {
      const objects = objectsOf(overlay);
      for (const { name } of facts.images.images)
        expect(container(objects, name).image, `${overlay} ${name}`).toBe(`${facts.images.prefix}/${name}:${tag}`);
      const statefulSets = objects.filter((o) => o.kind === 'StatefulSet') as unknown as (K8sObject & IStatefulSet)[];
      const images = Object.fromEntries(statefulSets.map((s) => [s.metadata.name, s.spec?.template.spec?.containers[0]?.image]));
      expect(images).toEqual({ 'user-db': composeDb, 'product-db': composeDb, 'order-db': composeDb, nats: composeNats });
    }
  });

  test('CI builds a stand-in for every public image the manifests run (it reaches no image registry)', () => {
    const standins = standinImages(readRepoFile('deploy/standins/build-standins.sh'));
    for (const overlay of OVERLAYS) {
      const images: (string | undefined)[] = [];
      JSON.stringify(objectsOf(overlay), (key, value: unknown) => {
        if (key === 'containers' || key === 'initContainers') for (const c of value as { image?: string }[]) images.push(c.image);
        return value;
      });
      expect(images, overlay).toContain(facts.compose.services[EVENT_BROKER.host]?.image);
      expect(missingStandins(images, standins, facts.images.prefix), overlay).toEqual([]);
    }
  });

  test('dev generates its Secret from marked development values that production does not refuse; prod commits no Secret', () => {
    const dev = objectsOf('k8s/overlays/dev');
    const secret = dev.find((o) => o.kind === 'Secret');
    expect(secret?.metadata.annotations?.['mini-ecommerce/values']).toBe('development-only');
    const values = Object.values(secret?.data as Record<string, string>).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    const devDefaults = facts.deployables.flatMap((d) => Object.values(d.config.configSchema).map((s) => s.devDefault));
    for (const value of values.filter(Boolean)) {
      expect(value).toMatch(/^dev-only-/);
      expect(devDefaults).not.toContain(value);
    }
    expect(objectsOf('k8s/overlays/prod').filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test('prod reads exactly the Secret keys that docs/deploy.md tells the operator to create, and the dev overlay defines', () => {
    const prod = objectsOf('k8s/overlays/prod');
    const referenced = new Set<string>();
    JSON.stringify(prod, (key, value: unknown) => {
      const ref = (value as { secretKeyRef?: { name: string; key: string } } | null)?.secretKeyRef;
      if (ref) {
        expect(ref.name).toBe('mini-ecommerce-secrets');
        referenced.add(ref.key);
      }
      return value;
    });
    const docs = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    const command = /kubectl create secret generic mini-ecommerce-secrets[^`]*?(?=\n```)/.exec(docs)?.[0] ?? '';
    const documented = new Set([...command.matchAll(/--from-(?:literal|file)=([A-Z_]+)=/g)].map((m) => m[1]));
    const dev = new Set(Object.keys(parseDotEnv(readFileSync(join(ROOT, 'k8s/overlays/dev/secrets.dev.env'), 'utf8'))));
    expect([...referenced].sort()).toEqual([
      'ADMIN_PASSWORD',
      'JWT_PRIVATE_KEY',
      'ORDER_DB_PASSWORD',
      'ORDER_EVENT_BUS_PASSWORD',
      'PRODUCT_DB_PASSWORD',
      'PRODUCT_EVENT_BUS_PASSWORD',
      'REDIS_PASSWORD',
      'SIGNING_KEY_ENCRYPTION_KEY',
      'USER_DB_PASSWORD',
    ]);
    expect([...documented].sort()).toEqual([...referenced].sort());
    expect([...dev].sort()).toEqual([...referenced].sort());
  });
});

describe.skipIf(skip)('the Kubernetes checks catch breakage', () => {
  test('when a field is misspelt, then the unknown-field check names it (validate() alone lets it through)', () => {
    const objects = objectsOf('k8s/overlays/dev');
    const broken = container(objects, 'order-service') as unknown as Record<string, unknown>;
    broken.readinesProbe = broken.readinessProbe;
    expect(schemaProblems(objects)).toEqual([]);
    expect(unknownFieldProblems(objects)).toEqual([
      expect.stringMatching(/^Deployment\/order-service: .*'"readinesProbe"' does not exist in type 'IContainer'/),
    ]);
  });

  test('when a value has the wrong type, then the schema check fails', () => {
    const objects = objectsOf('k8s/overlays/prod');
    (findObject(objects, 'HorizontalPodAutoscaler', 'gateway') as { spec: { minReplicas: unknown } }).spec.minReplicas = 'two';
    expect(schemaProblems(objects)).toEqual([expect.stringMatching(/^HorizontalPodAutoscaler\/gateway: .*minReplicas must be integer/)]);
  });

  test('when the readiness probe asks a path the service does not serve, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    container(objects, 'product-service').readinessProbe!.httpGet!.path = '/ready';
    expect(checkRender(objects).problems).toEqual([
      'Deployment/product-service: readinessProbe asks GET /ready, which the process does not serve',
    ]);
  });

  test('when liveness asks /readyz (a database blip would restart every pod), then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    container(objects, 'user-service').livenessProbe!.httpGet!.path = '/readyz';
    expect(checkRender(objects).problems).toEqual(['Deployment/user-service: livenessProbe should ask /healthz, not /readyz']);
  });

  test('when the probe port is not where the process listens, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    container(objects, 'gateway').startupProbe!.httpGet!.port = 3000;
    expect(checkRender(objects).problems).toEqual([
      'Deployment/gateway: startupProbe targets port 3000 (3000), but the process listens on 8080',
    ]);
  });

  test('when a variable the configSchema requires is missing, then the check names it', () => {
    const objects = objectsOf('k8s/overlays/prod');
    expect(requiredVariables(facts.deployables.find((d) => d.deployable.name === 'user-service')!.config.configSchema)).toContain(
      'ADMIN_PASSWORD',
    );
    const env = container(objects, 'user-service').env!;
    env.splice(
      env.findIndex((e) => e.name === 'ADMIN_PASSWORD'),
      1,
    );
    expect(checkRender(objects).problems).toEqual([
      "Deployment/user-service: ADMIN_PASSWORD is required by the service's configSchema but not set",
    ]);
  });

  test('when a required variable reads a Secret key that does not exist, then the pod could not start and the check says so', () => {
    const objects = objectsOf('k8s/overlays/dev');
    const ref = container(objects, 'order-service').env!.find((e) => e.name === 'DB_PASSWORD')!.valueFrom!.secretKeyRef!;
    ref.key = 'ORDER_PASSWORD';
    expect(checkRender(objects).problems).toContain(
      `Deployment/order-service: container order-service: DB_PASSWORD reads key ORDER_PASSWORD that Secret ${ref.name} does not have`,
    );
  });

  test('when the container port and PORT disagree, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    container(objects, 'order-service').env!.find((e) => e.name === 'PORT')!.value = '4000';
    const problems = checkRender(objects).problems;
    expect(problems).toContain('Deployment/order-service: containerPort "http" is 3003, but the process listens on 4000');
  });

  test('when a service URL points at the wrong Service port, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    const config = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    config.data.PRODUCT_SERVICE_URL = 'http://product-service:8080';
    const problems = checkRender(objects).problems;
    expect(problems).toContain('Deployment/order-service: PRODUCT_SERVICE_URL → Service product-service has no port 8080');
    expect(problems).toContain('Deployment/gateway: PRODUCT_SERVICE_URL → Service product-service has no port 8080');
  });

  test('when the NetworkPolicy no longer lets order call product, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    const policy = findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'order-service')!;
    policy.spec!.egress = policy.spec!.egress!.filter((rule) => !JSON.stringify(rule).includes('product-service'));
    expect(checkRender(objects).problems).toEqual([
      'NetworkPolicy: order-service cannot reach product-service:3002, which its PRODUCT_SERVICE_URL needs',
    ]);
  });

  test('when a database accepts connections from anywhere, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'user-db')!.spec!.ingress = [{ ports: [{ protocol: 'TCP', port: 5432 }] }];
    expect(checkRender(objects).problems).toEqual(['NetworkPolicy: user-db:5432 is reachable from outside the namespace']);
  });

  test("when a service may also reach another service's database, then the check fails", () => {
    const objects = objectsOf('k8s/overlays/dev');
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'user-db')!.spec!.ingress![0]!.from!.push({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'order-service' } },
    });
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'order-service')!.spec!.egress!.push({
      to: [{ podSelector: {} }],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
    expect(checkRender(objects).problems).toEqual(['NetworkPolicy: order-service can reach user-db:5432, which nothing configures']);
  });

  test('when the NetworkPolicy lets the gateway reach the broker, or no longer lets product reach it, then both are reported', () => {
    const objects = objectsOf('k8s/overlays/dev');
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'nats')!.spec!.ingress![0]!.from!.push({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } },
    });
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'gateway')!.spec!.egress!.push({
      to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } } }],
      ports: [{ protocol: 'TCP', port: 4222 }],
    });
    const product = findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'product-service')!;
    product.spec!.egress = product.spec!.egress!.filter((rule) => !JSON.stringify(rule).includes('nats'));
    expect(checkRender(objects).problems).toEqual([
      'NetworkPolicy: product-service cannot reach nats:4222, which its EVENT_BUS_URL needs',
      'NetworkPolicy: gateway can reach nats:4222, which nothing configures',
    ]);
  });

  test('when the broker has no policy of its own, then the check says so (the namespace-wide deny alone is not a decision)', () => {
    const objects = objectsOf('k8s/overlays/dev').filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'nats'));
    expect(checkRender(objects).problems).toEqual([
      'NetworkPolicy: product-service cannot reach nats:4222, which its EVENT_BUS_URL needs',
      'NetworkPolicy: order-service cannot reach nats:4222, which its EVENT_BUS_URL needs',
      'NetworkPolicy: none is written for nats; only the namespace-wide ones select it',
    ]);
  });

  test('when the broker is scaled to two servers, or its probe asks the client port, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/prod');
    statefulSet(objects, EVENT_BROKER.host).spec!.replicas = 2;
    natsContainer(objects).livenessProbe!.httpGet!.port = 'client';
    expect(checkRender(objects).problems).toEqual([
      'StatefulSet/nats: 2 replicas would be separate NATS servers, each with its own streams: run 1',
      'StatefulSet/nats: livenessProbe targets port client (4222), but monitoring listens on 8222',
    ]);
  });

  test('when JetStream keeps its store outside the volume claim, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    natsContainer(objects).volumeMounts!.find((m) => m.name === 'data')!.mountPath = '/var/lib/nats';
    expect(checkRender(objects).problems).toEqual([
      'StatefulSet/nats: the store /data is on no PersistentVolumeClaim with a storage request',
    ]);
  });

  test('when EVENT_BUS_URL names no Service, or the namespaces differ, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/dev');
    const order = container(objects, 'order-service');
    order.env!.push({ name: 'EVENT_BUS_URL', value: 'nats://nats-broker:4222' }, { name: 'EVENT_BUS_NAMESPACE', value: 'orders' });
    expect(checkRender(objects).problems).toEqual([
      'Deployment/order-service: EVENT_BUS_URL → no Service named nats-broker',
      'Kubernetes: EVENT_BUS_NAMESPACE must be the same for product-service and order-service, but is "events" and "orders"',
      // Its policy still opens the way to nats, which its configuration no longer uses.
      'NetworkPolicy: order-service can reach nats:4222, which nothing configures',
    ]);
  });

  test("when a Deployment talking to NATS has no password, or the broker reads another service's key for it, then the check fails", () => {
    const objects = objectsOf('k8s/overlays/dev');
    const order = container(objects, 'order-service');
    order.env = order.env!.filter((e) => e.name !== 'EVENT_BUS_PASSWORD');
    natsContainer(objects).env!.find((e) => e.name === 'NATS_PRODUCT_SERVICE_PASSWORD')!.value = "'$(ORDER_EVENT_BUS_PASSWORD)'";
    expect(checkRender(objects).problems).toEqual([
      expect.stringMatching(
        /^StatefulSet\/nats: NATS_PRODUCT_SERVICE_PASSWORD is not product-service's EVENT_BUS_PASSWORD \(secret\.mini-ecommerce-secrets-\w+\.PRODUCT_EVENT_BUS_PASSWORD\) in single quotes/,
      ),
      'Deployment/order-service: no EVENT_BUS_PASSWORD, so the broker refuses it',
    ]);
  });

  test('when the ConfigMap of the broker lets the order service publish stock events, or the broker does not read it, then the check fails', () => {
    const objects = objectsOf('k8s/overlays/prod');
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config')) as unknown as {
      data: Record<string, string>;
    };
    config.data['nats.conf'] = config.data['nats.conf']!.replace('"events.order.cancelled"', '"events.order.cancelled"\n"events.stock.>"');
    expect(checkRender(objects).problems).toEqual([
      'StatefulSet/nats nats.conf user order-service: may also publish events.stock.>, which the service does not need',
    ]);
    natsContainer(objects).volumeMounts = natsContainer(objects).volumeMounts!.filter((m) => m.name !== 'config');
    expect(checkRender(objects).problems).toEqual([
      'StatefulSet/nats: /etc/nats/mini-ecommerce/nats.conf (--config) is in no ConfigMap mounted at /etc/nats/mini-ecommerce',
    ]);
  });

  test('when a container may write its root filesystem, then the hardening check fails', () => {
    const objects = objectsOf('k8s/overlays/prod');
    container(objects, 'gateway').securityContext!.readOnlyRootFilesystem = false;
    expect(checkRender(objects).problems).toEqual(['Deployment/gateway: readOnlyRootFilesystem is not true']);
  });

  test('when the NetworkPolicy lets the order service reach Redis, or no longer lets the gateway reach it, then both are reported', () => {
    const objects = objectsOf('k8s/overlays/dev');
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'redis')!.spec!.ingress![0]!.from!.push({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'order-service' } },
    });
    findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'order-service')!.spec!.egress!.push({
      to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    });
    const gateway = findObject<INetworkPolicy>(objects, 'NetworkPolicy', 'gateway')!;
    gateway.spec!.egress = gateway.spec!.egress!.filter((rule) => !JSON.stringify(rule).includes('redis'));
    expect(checkRender(objects).problems).toEqual([
      'NetworkPolicy: gateway cannot reach redis:6379, which its REDIS_URL needs',
      'NetworkPolicy: order-service can reach redis:6379, which nothing configures',
    ]);
  });

  test('when Redis has no policy of its own, then the namespace-wide deny keeps the gateway out too and the check says so', () => {
    const objects = objectsOf('k8s/overlays/dev').filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'redis'));
    expect(checkRender(objects).problems).toEqual([
      'NetworkPolicy: gateway cannot reach redis:6379, which its REDIS_URL needs',
      'NetworkPolicy: none is written for redis; only the namespace-wide ones select it',
    ]);
  });

  test("when Redis takes a literal password instead of the Secret's, then the check says so, and that the gateway's REDIS_URL no longer matches", () => {
    const objects = objectsOf('k8s/overlays/dev');
    const env = container(objects, 'redis').env!;
    env[env.findIndex((e) => e.name === 'REDIS_PASSWORD')] = { name: 'REDIS_PASSWORD', value: 'hunter2' };
    expect(checkRender(objects).problems).toEqual([
      'Deployment/redis: --requirepass is not read from the Secret key REDIS_PASSWORD',
      'Deployment/gateway: REDIS_URL carries another password than the one redis requires (--requirepass)',
    ]);
  });

  test("when Redis is scaled to two servers, or a probe trusts redis-cli's exit code, then the check fails", () => {
    const objects = objectsOf('k8s/overlays/prod');
    deployment(objects, 'redis').spec!.replicas = 2;
    container(objects, 'redis').livenessProbe!.exec!.command = ['redis-cli', 'ping'];
    expect(checkRender(objects).problems).toEqual([
      'Deployment/redis: 2 replicas would be separate Redis servers, each with its own counters: run 1',
      "Deployment/redis: livenessProbe trusts redis-cli's exit code, which is 0 on an error answer (NOAUTH) too: look for PONG",
    ]);
  });

  test("when the gateway's REDIS_URL names no Service, then the check fails, and the policy's way to Redis is unused", () => {
    const objects = objectsOf('k8s/overlays/dev');
    container(objects, 'gateway').env!.find((e) => e.name === 'REDIS_URL')!.value = 'redis://:$(REDIS_PASSWORD)@cache:6379/0';
    expect(checkRender(objects).problems).toEqual([
      'Deployment/gateway: REDIS_URL → no Service named cache',
      'NetworkPolicy: gateway can reach redis:6379, which nothing configures',
    ]);
  });
});
