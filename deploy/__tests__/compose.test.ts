import { beforeAll, describe, expect, test } from 'vitest';
import { composeBrokerProblems } from '../lib/broker-checks.js';
import { composeEnvironment, composeProblems } from '../lib/compose-checks.js';
import { loadCompose, serviceEnvironment, serviceNetworks, type ComposeFile } from '../lib/compose-file.js';
import { agreementProblems } from '../lib/config-checks.js';
import { DESIGNED_CONNECTIONS, EVENT_BROKER, EVENT_BUS_SETTINGS, requiredVariables } from '../lib/deployables.js';
import { loadRepoFacts, type RepoFacts } from '../lib/facts.js';
import { composeRateLimitStoreProblems, parseRedisArguments } from '../lib/redis-checks.js';

let facts: RepoFacts;

beforeAll(async () => {
  facts = await loadRepoFacts();
});

function checkAll(compose: ComposeFile) {
  const portsOf = (name: string) => facts.deployables.find((d) => d.deployable.name === name)?.imagePort;
  const results = facts.deployables.map((d) =>
    composeProblems(compose, {
      ...d,
      image: `${facts.images.prefix}/${d.deployable.name}:${facts.images.tag}`,
      healthcheckPath: facts.healthcheckPath,
      portsOf,
    }),
  );
  const clients = facts.deployables.filter((d) => EVENT_BUS_SETTINGS.url in d.config.configSchema);
  const environments = clients.map((d) => ({
    name: d.deployable.name,
    config: d.config,
    env: composeEnvironment(compose, d.deployable.name, d.imagePort),
  }));
  const rateLimitStore = composeRateLimitStoreProblems(compose);
  const problems = [
    ...results.flatMap((r) => r.problems),
    ...composeBrokerProblems(
      compose,
      clients.map((d) => d.deployable.name),
    ),
    ...agreementProblems('compose', EVENT_BUS_SETTINGS.namespace, environments),
    ...rateLimitStore.problems,
  ];
  return { problems, edges: [...results.flatMap((r) => r.edges), ...rateLimitStore.edges] };
}

/** compose.yaml as it would be with one edit, interpolated with the .env made from .env.example like the real one. */
function composeWith(edit: (compose: ComposeFile) => void): ComposeFile {
  const compose = loadCompose(facts.composeText, facts.composeEnv);
  edit(compose);
  return compose;
}

describe('compose.yaml with .env.example', () => {
  test('every deployable passes the consistency checks (config, URLs, credentials, health, ports, image)', () => {
    expect(checkAll(facts.compose).problems).toEqual([]);
  });

  test('the connections it configures are the designed ones: gateway to all, order to product and user, product to user, each to its own database, product and order to the broker', () => {
    const edges = checkAll(facts.compose).edges.map((e) => `${e.from} -> ${e.to}:${e.port}`);
    expect(edges.sort()).toEqual([...DESIGNED_CONNECTIONS].sort());
  });

  test('each service has its own PostgreSQL, on a network no other service joins', () => {
    for (const db of ['user-db', 'product-db', 'order-db']) {
      const networks = facts.compose.services[db]?.networks as string[];
      const members = Object.entries(facts.compose.services).filter(([, s]) => (s.networks as string[]).some((n) => networks.includes(n)));
      expect(members.map(([name]) => name).sort(), db).toEqual([db, db.replace('-db', '-service')].sort());
      expect(facts.compose.networks?.[networks[0] as string]?.internal, db).toBe(true);
    }
  });

  test("the broker (NATS) reads only the services' bus passwords from .env, runs JetStream on a named volume with the users of k8s/base/nats.conf, and only product and order share its network", () => {
    const nats = facts.compose.services[EVENT_BROKER.host];
    const { PRODUCT_EVENT_BUS_PASSWORD: product, ORDER_EVENT_BUS_PASSWORD: order } = facts.composeEnv;
    expect([product, order]).toEqual([expect.stringMatching(/^[0-9a-f]{48}$/), expect.stringMatching(/^[0-9a-f]{48}$/)]);
    expect(serviceEnvironment(nats!)).toEqual({ NATS_PRODUCT_SERVICE_PASSWORD: `'${product}'`, NATS_ORDER_SERVICE_PASSWORD: `'${order}'` });
    expect(serviceEnvironment(facts.compose.services['product-service']!)).toMatchObject({
      EVENT_BUS_USER: 'product-service',
      EVENT_BUS_PASSWORD: product,
    });
    expect(serviceEnvironment(facts.compose.services['order-service']!)).toMatchObject({
      EVENT_BUS_USER: 'order-service',
      EVENT_BUS_PASSWORD: order,
    });
    expect(nats?.volumes).toEqual([`nats-data:${EVENT_BROKER.storeDir}`, './k8s/base/nats.conf:/etc/nats/mini-ecommerce/nats.conf:ro']);
    const networks = nats?.networks as string[];
    const members = Object.entries(facts.compose.services).filter(([, s]) => (s.networks as string[]).some((n) => networks.includes(n)));
    expect(members.map(([name]) => name).sort()).toEqual(['nats', 'order-service', 'product-service']);
  });

  test("Redis takes its password from .env, the gateway's REDIS_URL carries it, nothing is kept on disk, and only the gateway shares its network", () => {
    const redis = facts.compose.services.redis!;
    const args = parseRedisArguments(redis.command);
    expect(args.get('requirepass')).toBe(facts.composeEnv.REDIS_PASSWORD);
    expect(facts.composeEnv.REDIS_PASSWORD).toMatch(/^[0-9a-f]{48}$/);
    expect(serviceEnvironment(facts.compose.services.gateway!).REDIS_URL).toBe(`redis://:${facts.composeEnv.REDIS_PASSWORD}@redis:6379/0`);
    expect([args.get('save'), args.get('appendonly')]).toEqual(['', 'no']);
    expect(redis.volumes).toBeUndefined();
    const members = Object.entries(facts.compose.services).filter(([, s]) =>
      serviceNetworks(s).some((n) => serviceNetworks(redis).includes(n)),
    );
    expect(members.map(([name]) => name).sort()).toEqual(['gateway', 'redis']);
    expect(facts.compose.services.gateway?.depends_on).toMatchObject({ redis: { condition: 'service_started' } });
  });

  test("the rate limits Compose gives the gateway are the gateway's own defaults, from .env.example or compose.yaml's fallbacks", () => {
    const schema = facts.deployables.find((d) => d.deployable.name === 'gateway')!.config.configSchema;
    const limits = Object.keys(schema).filter((name) => name.startsWith('RATE_LIMIT_'));
    expect(limits.length).toBeGreaterThanOrEqual(4);
    const withoutLimits = Object.fromEntries(Object.entries(facts.composeEnv).filter(([key]) => !key.startsWith('RATE_LIMIT_')));
    const fallback = serviceEnvironment(loadCompose(facts.composeText, withoutLimits).services.gateway!);
    const fromExample = serviceEnvironment(facts.compose.services.gateway!);
    for (const name of limits) {
      expect(Number(fromExample[name]), `.env.example ${name}`).toBe(schema[name]?.default);
      expect(Number(fallback[name]), `compose.yaml ${name}`).toBe(schema[name]?.default);
    }
  });

  test('only the gateway publishes a port, and only on the loopback interface by default', () => {
    const publishing = Object.entries(facts.compose.services).filter(([, s]) => (s.ports ?? []).length > 0);
    expect(publishing.map(([name]) => name)).toEqual(['gateway']);
    expect(facts.compose.services.gateway?.ports).toEqual(['127.0.0.1:8080:8080']);
  });

  test('the compose scripts replace every dev-only value of .env.example with a fresh one', () => {
    expect(Object.values(facts.composeEnv).filter((value) => value.includes('dev-only'))).toEqual([]);
    expect(facts.composeEnv.ADMIN_PASSWORD).toMatch(/^[0-9a-f]{48}$/);
  });

  test('.env.example: its development values are marked as such and are not the devDefaults production refuses', () => {
    const devDefaults = facts.deployables.flatMap((d) =>
      Object.values(d.config.configSchema)
        .map((spec) => spec.devDefault)
        .filter((v) => v !== undefined && v !== ''),
    );
    const secrets = Object.entries(facts.dotEnv).filter(([key]) => /PASSWORD/.test(key));
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const [key, value] of secrets) {
      expect(value, key).toMatch(/^dev-only-/);
      expect(devDefaults, key).not.toContain(value);
    }
  });

  test('a missing required variable in .env stops interpolation, as Compose does', () => {
    const { ADMIN_PASSWORD: _dropped, ...rest } = facts.dotEnv;
    expect(() => loadCompose(facts.composeText, rest)).toThrow(/ADMIN_PASSWORD/);
  });
});

describe('the compose checks catch breakage', () => {
  test('when a service loses a variable its configSchema requires, then the check names it', () => {
    const broken = composeWith((c) => {
      delete (c.services['order-service']?.environment as Record<string, string>).DATABASE_URL;
    });
    const required = requiredVariables(facts.deployables.find((d) => d.deployable.name === 'order-service')!.config.configSchema);
    expect(required).toContain('DATABASE_URL');
    expect(checkAll(broken).problems).toEqual([
      "compose order-service: DATABASE_URL is required by the service's configSchema but not set",
    ]);
  });

  test('when the admin password is the devDefault, then loadConfig refuses it in production', () => {
    const devDefault = facts.deployables.find((d) => d.deployable.name === 'user-service')!.config.configSchema.ADMIN_PASSWORD?.devDefault;
    if (typeof devDefault !== 'string') throw new Error('the user service has no ADMIN_PASSWORD devDefault');
    const broken = composeWith((c) => {
      (c.services['user-service']?.environment as Record<string, string>).ADMIN_PASSWORD = devDefault;
    });
    expect(checkAll(broken).problems).toEqual([
      expect.stringMatching(/^compose user-service: the service's loadConfig refuses this environment: .*ADMIN_PASSWORD/),
    ]);
  });

  test('when an upstream URL has the wrong port, then the check says which port the target listens on', () => {
    const broken = composeWith((c) => {
      (c.services['order-service']?.environment as Record<string, string>).PRODUCT_SERVICE_URL = 'http://product-service:3001';
    });
    expect(checkAll(broken).problems).toEqual([
      'compose order-service: PRODUCT_SERVICE_URL uses port 3001, but product-service listens on 3002',
    ]);
  });

  test('when the database password differs from the one the database was created with, then the check fails', () => {
    const broken = composeWith((c) => {
      (c.services['product-db']?.environment as Record<string, string>).POSTGRES_PASSWORD = 'something-else';
    });
    expect(checkAll(broken).problems).toEqual([
      expect.stringMatching(/^compose product-service: DATABASE_URL password is not the database's POSTGRES_PASSWORD/),
    ]);
  });

  test('when the gateway does not wait for a healthy upstream, or the image name drifts, then both are reported', () => {
    const broken = composeWith((c) => {
      const gateway = c.services.gateway!;
      delete (gateway.depends_on as Record<string, unknown>)['order-service'];
      gateway.image = 'mini-ecommerce/api-gateway:dev';
    });
    expect(checkAll(broken).problems.sort()).toEqual(
      [
        'compose gateway: does not wait for order-service to be healthy',
        'compose gateway: image mini-ecommerce/api-gateway:dev, but scripts/images.sh builds mini-ecommerce/gateway:dev',
      ].sort(),
    );
  });

  test('when a service and its database share no network, then the check fails', () => {
    const broken = composeWith((c) => {
      c.services['user-db']!.networks = ['order-data'];
    });
    expect(checkAll(broken).problems).toContain('compose user-service: shares no network with user-db, which its DATABASE_URL needs');
  });

  test('when the order service does not wait for a healthy broker, then the check says so', () => {
    const broken = composeWith((c) => {
      delete (c.services['order-service']?.depends_on as Record<string, unknown>).nats;
    });
    expect(checkAll(broken).problems).toEqual([
      'compose order-service: does not wait for nats to be healthy (depends_on condition service_healthy)',
    ]);
  });

  test('when NATS runs without JetStream, or keeps its store in the container, then both are reported', () => {
    const noJetStream = composeWith((c) => {
      c.services.nats!.command = ['--config', '/etc/nats/mini-ecommerce/nats.conf', '--store_dir', '/data', '--http_port', '8222'];
    });
    expect(checkAll(noJetStream).problems).toEqual([
      'compose nats: JetStream is not enabled (--jetstream), and the services need its streams',
    ]);
    const noVolume = composeWith((c) => {
      c.services.nats!.volumes = c.services.nats!.volumes!.filter((volume) => !volume.startsWith('nats-data:'));
    });
    expect(checkAll(noVolume).problems).toEqual([
      'compose nats: the store /data is on no named volume, so the events go with the container',
    ]);
  });

  test('when the broker health check asks another port, or the broker is published, then the check fails', () => {
    const broken = composeWith((c) => {
      c.services.nats!.healthcheck = { test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:4222/healthz'] };
      c.services.nats!.ports = ['4222:4222'];
    });
    expect(checkAll(broken).problems).toEqual([
      'compose nats: the health check asks http://127.0.0.1:4222/healthz, not /healthz on its own monitoring port 8222',
      'compose nats: publishes 4222:4222; only the gateway may be reachable from outside',
    ]);
  });

  test('when the gateway joins the broker network, or EVENT_BUS_URL names another port, then the check fails', () => {
    const broken = composeWith((c) => {
      (c.services.gateway!.networks as string[]).push('events');
      (c.services['product-service']?.environment as Record<string, string>).EVENT_BUS_URL = 'nats://nats:8222';
    });
    expect(checkAll(broken).problems).toEqual([
      'compose product-service: EVENT_BUS_URL uses port 8222, but nats listens on 4222',
      'compose nats: gateway shares network events with the broker but reads no EVENT_BUS_URL',
    ]);
  });

  test('when product and order use different event namespaces, then the events would never meet and the check says so', () => {
    const broken = composeWith((c) => {
      (c.services['order-service']?.environment as Record<string, string>).EVENT_BUS_NAMESPACE = 'orders';
    });
    expect(checkAll(broken).problems).toEqual([
      'compose: EVENT_BUS_NAMESPACE must be the same for product-service and order-service, but is "events" and "orders"',
    ]);
  });

  test("when a service talking to NATS loses its password, or takes another service's user, then the check names both", () => {
    const broken = composeWith((c) => {
      delete (c.services['order-service']?.environment as Record<string, string>).EVENT_BUS_PASSWORD;
      (c.services['product-service']?.environment as Record<string, string>).EVENT_BUS_USER = 'order-service';
    });
    expect(checkAll(broken).problems).toEqual([
      'compose product-service: EVENT_BUS_USER is order-service, but its user on the broker is product-service',
      'compose order-service: no EVENT_BUS_PASSWORD, so the broker refuses it',
    ]);
  });

  test('when the broker gets a password unquoted, or runs without its config file, then the check fails', () => {
    const unquoted = composeWith((c) => {
      const env = c.services.nats!.environment as Record<string, string>;
      env.NATS_ORDER_SERVICE_PASSWORD = env.NATS_ORDER_SERVICE_PASSWORD!.replaceAll("'", '');
    });
    expect(checkAll(unquoted).problems).toEqual([
      "compose nats: NATS_ORDER_SERVICE_PASSWORD is not order-service's EVENT_BUS_PASSWORD in single quotes, so the broker would not take it",
    ]);
    const noConfig = composeWith((c) => {
      c.services.nats!.command = (c.services.nats!.command as string[]).filter(
        (word) => !word.includes('config') && !word.endsWith('.conf'),
      );
    });
    expect(checkAll(noConfig).problems).toEqual([
      "compose nats: no --config, so nats-server runs without the services' users and lets anyone publish anything",
    ]);
  });

  test('when Redis runs without a password and snapshots its counters, then both are reported', () => {
    const broken = composeWith((c) => {
      c.services.redis!.command = ['--appendonly', 'no'];
    });
    expect(checkAll(broken).problems).toEqual([
      'compose redis: no --requirepass, so whatever reaches it may read and reset the rate-limit counters',
      "compose redis: snapshots its counters (no --save ''), which are disposable",
    ]);
  });

  test("when the gateway's REDIS_URL carries another password, or names another port, then the check fails", () => {
    const wrongPassword = composeWith((c) => {
      (c.services.gateway?.environment as Record<string, string>).REDIS_URL = 'redis://:not-the-password@redis:6379/0';
    });
    expect(checkAll(wrongPassword).problems).toEqual([
      'compose gateway: REDIS_URL carries another password than the one redis requires (--requirepass)',
    ]);
    const wrongPort = composeWith((c) => {
      const env = c.services.gateway?.environment as Record<string, string>;
      env.REDIS_URL = env.REDIS_URL!.replace(':6379/', ':6380/');
    });
    expect(checkAll(wrongPort).problems).toEqual(['compose gateway: REDIS_URL uses port 6380, but redis listens on 6379']);
  });

  test('when the order service joins the Redis network, Redis is published, or it runs as root, then each is reported', () => {
    const broken = composeWith((c) => {
      (c.services['order-service']!.networks as string[]).push('rate-limits');
      c.services.redis!.ports = ['6379:6379'];
      delete c.services.redis!.user;
    });
    expect(checkAll(broken).problems).toEqual([
      'compose redis: publishes 6379:6379; only the gateway may be reachable from outside',
      "compose redis: runs as root: set user to the image's redis user (999:1000)",
      'compose redis: order-service shares network rate-limits with Redis, but only the gateway connects to it',
    ]);
  });

  test("when the gateway does not start after Redis, or the health check trusts redis-cli's exit code, then both are reported", () => {
    const broken = composeWith((c) => {
      delete (c.services.gateway?.depends_on as Record<string, unknown>).redis;
      c.services.redis!.healthcheck = { test: ['CMD', 'redis-cli', 'ping'] };
    });
    expect(checkAll(broken).problems).toEqual([
      "compose redis: the health check trusts redis-cli's exit code, which is 0 on an error answer (NOAUTH) too: look for PONG",
      'compose gateway: does not start after redis (depends_on), so it may begin counting in memory',
    ]);
  });
});
