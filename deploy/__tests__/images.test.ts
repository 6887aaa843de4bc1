import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  buildContextProblems,
  dockerfileBaseImages,
  healthcheckPath,
  missingStandins,
  nodeImageProblems,
  parseImagesScript,
  standinImages,
} from '../lib/build-files.js';
import { interpolate } from '../lib/compose-file.js';
import { defaultPort, DEPLOYABLES, readRepoFile, ROOT } from '../lib/deployables.js';
import { loadRepoFacts, type RepoFacts } from '../lib/facts.js';
import { SERVICE_NODE_OPTIONS } from '../../scripts/stack.js';

let facts: RepoFacts;
let dockerignore: string;
let workspaces: string[];
let standins: string[];
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };
/** Node.js 24, the supported LTS (Node 20 reached its end of life in April 2026). */
const NODE_MAJOR = 24;
const hasMigrations = (workspace: string) => existsSync(join(ROOT, workspace, 'migrations'));

beforeAll(async () => {
  facts = await loadRepoFacts();
  dockerignore = readRepoFile('.dockerignore');
  workspaces = (JSON.parse(readRepoFile('package.json')) as { workspaces: string[] }).workspaces;
  standins = standinImages(readRepoFile('deploy/standins/build-standins.sh'));
});

describe('images', () => {
  test('scripts/images.sh builds one mini-ecommerce/<name>:dev image per deployable, with the port its configSchema defaults to', () => {
    expect(facts.images.prefix).toBe('mini-ecommerce');
    expect(facts.images.tag).toBe('dev');
    expect(facts.images.images.map((i) => [i.name, i.workspace])).toEqual(DEPLOYABLES.map((d) => [d.name, d.workspace]));
    for (const { deployable, config, imagePort } of facts.deployables)
      expect(imagePort, deployable.name).toBe(defaultPort(config.configSchema));
  });

  test('the Dockerfile installs from every workspace manifest, and .dockerignore lets every workspace in', () => {
    expect(workspaces.length).toBeGreaterThanOrEqual(5);
    expect(buildContextProblems(facts.dockerfile, dockerignore, workspaces, DEPLOYABLES, hasMigrations)).toEqual([]);
  });

  test('CI builds a stand-in for every public image the Dockerfile and compose.yaml name (it reaches no image registry)', () => {
    expect(standins.sort()).toEqual([
      'debian:bookworm-slim',
      'nats:2.9-alpine',
      'node:24-bookworm-slim',
      'postgres:15-bookworm',
      'redis:7-alpine',
    ]);
    const named = [...dockerfileBaseImages(facts.dockerfile), ...Object.values(facts.compose.services).map((s) => s.image)];
    expect(named).toContain('node:24-bookworm-slim');
    expect(named).toContain(facts.compose.services.nats?.image);
    expect(named).toContain(facts.compose.services.redis?.image);
    expect(missingStandins(named, standins, facts.images.prefix)).toEqual([]);
  });

  test(`every image runs Node.js ${NODE_MAJOR}, the supported LTS: the Dockerfile's base, and the stand-in CI builds from scripts/node24.sh`, () => {
    expect(nodeImageProblems(facts.dockerfile, NODE_MAJOR)).toEqual([]);
    expect(dockerfileBaseImages(facts.dockerfile)).toEqual([`node:${NODE_MAJOR}-bookworm-slim`]);
    // The stand-in copies in the Node that scripts/node24.sh pins (not the machine's own), and both refuse another major.
    const script = readRepoFile('deploy/standins/build-standins.sh');
    expect(script).toMatch(/^node_bin="\$\(bash "\$here\/\.\.\/\.\.\/scripts\/node24\.sh"\)"$/m);
    expect(script).toContain(`  v${NODE_MAJOR}.*) ;;`);
    expect(readRepoFile('deploy/standins/node.Dockerfile')).toContain(`case "$(node --version)" in v${NODE_MAJOR}.*) ;;`);
    const pinned = /^version=(\S+)$/m.exec(readRepoFile('scripts/node24.sh'))?.[1];
    expect(pinned).toMatch(new RegExp(`^${NODE_MAJOR}\\.\\d+\\.\\d+$`));
    // ...and what the images run is a Node the project says it supports.
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    expect(semver.satisfies(pinned as string, engines), `engines.node ${engines}`).toBe(true);
  });

  test('the NATS stand-in keeps the official image interface: its entrypoint runs nats-server when the first argument is a flag', () => {
    const dockerfile = readRepoFile('deploy/standins/nats.Dockerfile');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["docker-entrypoint\.sh"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["nats-server", "--config", "\/etc\/nats\/nats-server\.conf"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 4222 8222 6222$/m);
    expect(readRepoFile('deploy/standins/nats-entrypoint.sh')).toContain('set -- nats-server "$@"');
  });

  test('the Redis stand-in keeps the official image interface: entrypoint, command, port, the redis user 999:1000, and no password variable of its own', () => {
    const dockerfile = readRepoFile('deploy/standins/redis.Dockerfile');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["docker-entrypoint\.sh"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["redis-server"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 6379$/m);
    expect(dockerfile).toMatch(/^WORKDIR \/data$/m);
    expect(dockerfile).toContain('test "$(id -u redis)" = 999');
    expect(dockerfile).toContain('test "$(id -g redis)" = 1000');
    const entrypoint = readRepoFile('deploy/standins/redis-entrypoint.sh');
    expect(entrypoint).toContain('set -- redis-server "$@"');
    // The real image reads no password variable: one the stand-in honoured would pass CI and leave production open.
    const code = entrypoint.split('\n').filter((line) => !line.trim().startsWith('#'));
    expect(code.join('\n')).not.toMatch(/PASSWORD|requirepass/);
    expect(readRepoFile('deploy/standins/build-standins.sh')).toMatch(/chroot_install "\$redisroot" \S+ redis-server$/m);
  });

  test('the runtime stage runs as the non-root uid 1000, production only, node as PID 1, and a HEALTHCHECK on a path every process serves', () => {
    const runtime = facts.dockerfile.split(/^FROM /m).at(-1) ?? '';
    expect(runtime).toMatch(/^USER 1000:1000$/m);
    expect(runtime).toMatch(/NODE_ENV=production/);
    expect(runtime).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(facts.dockerfile).toMatch(/npm ci --omit=dev/);
    expect(facts.healthcheckPath).toBe('/readyz');
    expect(facts.serves(facts.healthcheckPath as string)).toBe(true);
  });

  test('the images run with the V8 flags npm start gives every service (SERVICE_NODE_OPTIONS), and a deployment may override them', () => {
    const set = /^ENV NODE_OPTIONS=(.*)$/m.exec(facts.dockerfile)?.[1];
    expect(set).toBe(SERVICE_NODE_OPTIONS);
    // Set as an environment variable, not on the command line, which NODE_OPTIONS could not override.
    expect(facts.dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
  });

  test('every deployable builds its app on createApp, so the probe paths the checks read from createApp are its own', () => {
    for (const { workspace } of DEPLOYABLES) expect(readRepoFile(`${workspace}/src/app.ts`), workspace).toMatch(/\bcreateApp\(/);
  });

  test('.dockerignore starts from nothing, so .env, node_modules and local data never enter an image', () => {
    const lines = dockerignore.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines.filter((l) => l.startsWith('!') && /\.env|node_modules|\.data|dist/.test(l))).toEqual([]);
  });
});

describe('the image checks catch breakage', () => {
  test('when a workspace is added but the Dockerfile does not copy its manifest, then both install stages are reported', () => {
    const problems = buildContextProblems(facts.dockerfile, dockerignore, [...workspaces, 'services/payment'], DEPLOYABLES);
    expect(problems).toEqual([
      'Dockerfile stage build: does not copy services/payment/package.json',
      'Dockerfile stage deps: does not copy services/payment/package.json',
      '.dockerignore: does not let services/payment/package.json into the build context',
      '.dockerignore: does not let services/payment/tsconfig.json into the build context',
      '.dockerignore: does not let services/payment/src into the build context',
    ]);
  });

  test("when .dockerignore drops a service's migrations, then the check fails", () => {
    const problems = buildContextProblems(
      facts.dockerfile,
      dockerignore.replace('!services/order/migrations\n', ''),
      workspaces,
      DEPLOYABLES,
    );
    expect(problems).toEqual(['.dockerignore: does not let services/order/migrations in']);
  });

  test('when a workspace other than a service has migrations .dockerignore leaves out, then the check names it', () => {
    const problems = buildContextProblems(facts.dockerfile, dockerignore, workspaces, DEPLOYABLES, (w) => w === 'gateway');
    expect(problems).toEqual(['.dockerignore: does not let gateway/migrations in']);
  });

  test('when compose.yaml names a public image CI has no stand-in for, then the check names it', () => {
    expect(missingStandins(['redis:7-bookworm', 'mini-ecommerce/gateway:dev', 'postgres:15-bookworm'], standins, 'mini-ecommerce')).toEqual(
      ['redis:7-bookworm'],
    );
    expect(
      dockerfileBaseImages('ARG BASE=node:24-bookworm-slim\nFROM ${BASE} AS build\nFROM build AS test\nFROM debian:bookworm-slim\n'),
    ).toEqual(['node:24-bookworm-slim', 'debian:bookworm-slim']);
  });

  test('when the Dockerfile goes back to an end-of-life Node, or starts from no node image at all, then the check says so', () => {
    const back = facts.dockerfile.replace(`ARG NODE_IMAGE=node:${NODE_MAJOR}-bookworm-slim`, 'ARG NODE_IMAGE=node:20-bookworm-slim');
    expect(nodeImageProblems(back, NODE_MAJOR)).toEqual([`Dockerfile: node:20-bookworm-slim is not Node.js ${NODE_MAJOR}`]);
    expect(nodeImageProblems('FROM node:240-slim\n', NODE_MAJOR)).toEqual([`Dockerfile: node:240-slim is not Node.js ${NODE_MAJOR}`]);
    expect(nodeImageProblems('FROM node:24.22-bookworm-slim\nFROM node:24\n', NODE_MAJOR)).toEqual([]);
    expect(nodeImageProblems('FROM debian:bookworm-slim\n', NODE_MAJOR)).toEqual([
      `Dockerfile: no stage starts from a node:${NODE_MAJOR} image`,
    ]);
  });

  test('when the HEALTHCHECK asks a path nobody serves, then it is visible', () => {
    const path = healthcheckPath(facts.dockerfile.replace("'/readyz'", "'/health'"));
    expect(path).toBe('/health');
    expect(facts.serves(path as string)).toBe(false);
  });

  test('when a DEPLOYABLES line in images.sh is malformed, then parsing says so', () => {
    const script = readRepoFile('scripts/images.sh').replace('"gateway gateway 8080"', '"gateway gateway"');
    expect(() => parseImagesScript(script)).toThrow('bad DEPLOYABLES line "gateway gateway"');
  });
});

describe('Compose interpolation (as the checks read compose.yaml)', () => {
  test('defaults, required values, $$ escapes and bare variables behave as in Compose', () => {
    const env = { SET: 'x', EMPTY: '' };
    expect(interpolate('${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${MISSING-d} $SET $$SET', env)).toBe('x d  d x $SET');
    expect(interpolate('${SET:?needed}', env)).toBe('x');
    expect(() => interpolate('${EMPTY:?needed here}', env)).toThrow('required variable EMPTY is missing a value: needed here');
  });
});
