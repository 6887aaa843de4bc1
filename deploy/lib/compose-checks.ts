import { configProblems, connectionSettings, databaseCredentialProblems, urlEndpoints, type Edge } from './config-checks.js';
import { serviceEnvironment, serviceNetworks, type ComposeFile } from './compose-file.js';
import { EVENT_BROKER, EVENT_BUS_SETTINGS } from './deployables.js';
import type { DeployableFacts } from './k8s-checks.js';
import { literalEnvironment } from './environment.js';

/** The environment a Compose service's process sees: its image's ENV, then `environment`. */
export function composeEnvironment(compose: ComposeFile, name: string, imagePort: number) {
  const service = compose.services[name];
  return literalEnvironment({ NODE_ENV: 'production', PORT: String(imagePort), ...(service ? serviceEnvironment(service) : {}) });
}

function isPostgres(image: string | undefined): boolean {
  return /^postgres:/.test(image ?? '');
}

/**
 * All Compose checks of one deployable: its service exists with the image scripts/images.sh
 * builds, its configuration satisfies its configSchema and loadConfig, every URL reaches the
 * right service on a shared network and port, DATABASE_URL matches its database's credentials,
 * it waits for its database and broker (and the gateway for its upstreams) to be healthy, its
 * health check asks a path it serves, and only the gateway publishes a port.
 */
export function composeProblems(
  compose: ComposeFile,
  facts: DeployableFacts & { image: string; healthcheckPath: string | undefined; portsOf: (service: string) => number | undefined },
): { problems: string[]; edges: Edge[] } {
  const { deployable, config } = facts;
  const where = `compose ${deployable.name}`;
  const service = compose.services[deployable.name];
  const edges: Edge[] = [];
  if (!service) return { problems: [`${where}: no such service`], edges };
  const problems: string[] = [];
  if (service.image !== facts.image)
    problems.push(`${where}: image ${service.image ?? '(none)'}, but scripts/images.sh builds ${facts.image}`);

  const env = composeEnvironment(compose, deployable.name, facts.imagePort);
  problems.push(...configProblems(where, config, env));
  const listenPort = Number(env.get('PORT')?.value);

  if (service.healthcheck?.disable || (Array.isArray(service.healthcheck?.test) && service.healthcheck.test[0] === 'NONE'))
    problems.push(`${where}: health check disabled`);
  if (service.healthcheck?.test === undefined) {
    if (!facts.healthcheckPath || !facts.serves(facts.healthcheckPath))
      problems.push(`${where}: the image's HEALTHCHECK asks ${facts.healthcheckPath ?? '(nothing)'}, which the process does not serve`);
  }

  const dependsOn = service.depends_on ?? {};
  const healthyDependency = (name: string) => !Array.isArray(dependsOn) && dependsOn[name]?.condition === 'service_healthy';
  const networks = new Set(serviceNetworks(service));

  for (const { variable, target } of connectionSettings(deployable, config)) {
    const value = env.get(variable)?.value;
    if (!value) {
      // A required one is reported by configProblems; one with a default would silently point elsewhere.
      if ('default' in (config.configSchema[variable] ?? {}))
        problems.push(
          `${where}: ${variable} is not set, so the service would use its default ${JSON.stringify(config.configSchema[variable]?.default)}`,
        );
      continue;
    }
    for (const endpoint of urlEndpoints(value)) {
      const other = compose.services[endpoint.host];
      if (!other) {
        problems.push(`${where}: ${variable} names host ${endpoint.host}, which is no Compose service`);
        continue;
      }
      if (endpoint.host !== target) problems.push(`${where}: ${variable} reaches ${endpoint.host}, expected ${target}`);
      const port = isPostgres(other.image)
        ? 5432
        : endpoint.host === EVENT_BROKER.host
          ? EVENT_BROKER.clientPort
          : facts.portsOf(endpoint.host);
      if (endpoint.port !== port)
        problems.push(`${where}: ${variable} uses port ${endpoint.port}, but ${endpoint.host} listens on ${port ?? 'an unknown port'}`);
      if (!serviceNetworks(other).some((n) => networks.has(n)))
        problems.push(`${where}: shares no network with ${endpoint.host}, which its ${variable} needs`);
      edges.push({ from: deployable.name, to: endpoint.host, port: endpoint.port, variable });
      if (variable === 'DATABASE_URL') {
        const dbEnv = serviceEnvironment(other);
        problems.push(
          ...databaseCredentialProblems(where, value, {
            user: dbEnv.POSTGRES_USER,
            db: dbEnv.POSTGRES_DB,
            password: dbEnv.POSTGRES_PASSWORD,
          }),
        );
        if (!healthyDependency(endpoint.host))
          problems.push(`${where}: does not wait for ${endpoint.host} to be healthy (depends_on condition service_healthy)`);
        if (!(other.volumes ?? []).some((v) => /^[\w.-]+:\/var\/lib\/postgresql\/data$/.test(v)))
          problems.push(`${where}: ${endpoint.host} keeps its data in no named volume`);
      }
      // Its event bus is opened before the service listens: a broker not yet up fails the start.
      if (variable === EVENT_BUS_SETTINGS.url && !healthyDependency(endpoint.host))
        problems.push(`${where}: does not wait for ${endpoint.host} to be healthy (depends_on condition service_healthy)`);
      if (deployable.name === 'gateway' && !healthyDependency(endpoint.host))
        problems.push(`${where}: does not wait for ${endpoint.host} to be healthy`);
    }
  }

  const published = (service.ports ?? []).map(String);
  if (deployable.name === 'gateway') {
    const container = published.map((p) => Number(/:(\d+)(?:\/tcp)?$/.exec(p)?.[1])).filter(Number.isFinite);
    if (!container.includes(listenPort))
      problems.push(`${where}: publishes ${published.join(', ') || 'nothing'}, not the port it listens on (${listenPort})`);
  } else if (published.length > 0) {
    problems.push(`${where}: publishes ${published.join(', ')}; only the gateway may be reachable from outside`);
  }
  return { problems, edges };
}
