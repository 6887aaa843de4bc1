/**
 * Lints the API document the gateway serves at `/docs/openapi.json` with Spectral and the repo's
 * `.spectral.yaml` (spectral:oas and the OWASP API Security ruleset). By default it builds the
 * three services and the gateway in this process, over a throwaway PostgreSQL, exactly as the
 * CI test does (gateway/src/__tests__/api-lint.test.ts); `--url` lints a running gateway instead.
 *
 *   node --conditions=source --import tsx scripts/lint-api.ts [--url http://127.0.0.1:8080] [--out api.json]
 *
 * Exits 1 when Spectral reports an error or an operation lacks a unique operationId.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, createPool, createTokenVerifier, EVENTS_MIGRATIONS, runMigrations, type App, type Pool } from '@mini/shared';
import { createDatabase, createTestIssuer, startTestPostgres } from '@mini/shared/testing';
import { buildApp as buildGateway } from '../gateway/src/app.js';
import { buildApp as buildOrderService } from '../services/order/src/app.js';
import { createProductClient } from '../services/order/src/clients/product-client.js';
import { buildApp as buildProductService } from '../services/product/src/app.js';
import { buildApp as buildUserService } from '../services/user/src/app.js';
import { loadConfig as loadUserConfig } from '../services/user/src/config.js';
import { parseCommandLine, runCommand } from './cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The CLI's entry point, run by this very Node (its shebang would take whichever `node` is on PATH).
const SPECTRAL = join(ROOT, 'node_modules/@stoplight/spectral-cli/dist/index.js');
const RULESET = join(ROOT, '.spectral.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** One finding of Spectral's JSON output (severity 0 error, 1 warning, 2 information, 3 hint). */
export interface SpectralFinding {
  code: string;
  message: string;
  path: (string | number)[];
  severity: 0 | 1 | 2 | 3;
}

const quiet = (name: string) => createLogger(name, { level: 'silent' });

async function migratedPool(adminUrl: string, prefix: string, dirs: string[]): Promise<Pool> {
  const databaseUrl = await createDatabase(adminUrl, prefix);
  await runMigrations({ databaseUrl, dir: dirs });
  return createPool(databaseUrl, { max: 2 });
}

async function listen(app: App): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/**
 * `/docs/openapi.json` as the gateway answers it, in front of the real user, product and order
 * services (each on a fresh database on the PostgreSQL server at `postgresUrl`).
 */
export async function buildServedDocument(postgresUrl: string): Promise<Record<string, unknown>> {
  const here = (path: string) => join(ROOT, path);
  const events = fileURLToPath(EVENTS_MIGRATIONS);
  const pools = await Promise.all([
    migratedPool(postgresUrl, 'apilint_user', [here('services/user/migrations')]),
    migratedPool(postgresUrl, 'apilint_product', [events, here('services/product/migrations')]),
    migratedPool(postgresUrl, 'apilint_order', [events, here('services/order/migrations')]),
  ]);
  const [userPool, productPool, orderPool] = pools;
  const issuer = await createTestIssuer();
  const verifyToken = createTokenVerifier({ keys: issuer.keys, issuer: issuer.issuer, audience: issuer.audience });
  const apps: App[] = [];
  // Nothing here asks for a product: the order service's client only needs somewhere to point.
  const productClient = createProductClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 500 });
  try {
    const open = async (app: Promise<App>) => {
      apps.unshift(await app);
      return apps[0]!;
    };
    const users = await open(
      buildUserService({
        // Its own settings with their test defaults: the document does not depend on them.
        config: loadUserConfig({ NODE_ENV: 'test', JWT_ISSUER: issuer.issuer, JWT_AUDIENCE: issuer.audience }),
        logger: quiet('user-service'),
        pool: userPool,
      }),
    );
    const products = await open(buildProductService({ pool: productPool, logger: quiet('product-service'), verifyToken }));
    const orders = await open(buildOrderService({ pool: orderPool, logger: quiet('order-service'), verifyToken, productClient }));
    const [usersUrl, productsUrl, ordersUrl] = await Promise.all([listen(users), listen(products), listen(orders)]);
    const gateway = await open(
      buildGateway({ logger: quiet('gateway'), upstreams: { users: [usersUrl], products: [productsUrl], orders: [ordersUrl] } }),
    );
    const res = await gateway.inject({ method: 'GET', url: '/docs/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /docs/openapi.json answered ${res.statusCode}: ${res.body}`);
    const document = res.json<Record<string, unknown>>();
    const missing = document['x-missing-services'];
    if (Array.isArray(missing) && missing.length > 0) throw new Error(`the document lacks services: ${missing.join(', ')}`);
    return document;
  } finally {
    for (const app of apps) await app.close();
    await productClient.close();
    await Promise.all(pools.map((pool) => pool.end()));
  }
}

/** Runs the Spectral CLI with the repo ruleset on `document`; every finding, errors first. */
export async function lintDocument(document: unknown): Promise<SpectralFinding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'api-lint-'));
  // Named openapi.json: the ruleset's overrides point into `*.json` documents.
  const file = join(dir, 'openapi.json');
  const output = join(dir, 'findings.json');
  try {
    await writeFile(file, JSON.stringify(document, null, 2));
    await new Promise<void>((done, fail) => {
      const args = ['lint', '--quiet', '--ruleset', RULESET, '--fail-severity', 'error', '--format', 'json', '--output', output, file];
      execFile(process.execPath, [SPECTRAL, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
        // Exit code 1 only says errors were found: the findings say which.
        if (!error || error.code === 1) done();
        else fail(new Error(`spectral failed (${error.message}): ${stdout}${stderr}`));
      });
    });
    return (JSON.parse(await readFile(output, 'utf8')) as SpectralFinding[]).sort((a, b) => a.severity - b.severity);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Operations without an operationId, or sharing one: a line each (empty when all is well). */
export function operationIdProblems(document: { paths?: unknown }): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Record<string, { operationId?: unknown }>>)) {
    for (const method of METHODS.filter((m) => item[m])) {
      const where = `${method.toUpperCase()} ${path}`;
      const id = item[method]!.operationId;
      if (typeof id !== 'string' || id === '') problems.push(`${where}: no operationId`);
      else if (seen.has(id)) problems.push(`${where}: operationId "${id}" is also ${seen.get(id)}'s`);
      else seen.set(id, where);
    }
  }
  return problems;
}

const SEVERITY = ['error', 'warning', 'info', 'hint'];

/** One line per finding: `error owasp:api4:2023-string-limit at paths./users.get...: message`. */
export function formatFindings(findings: SpectralFinding[]): string {
  return findings.map((f) => `${SEVERITY[f.severity]} ${f.code} at ${f.path.join('.')}: ${f.message}`).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(
    `
Usage: node --conditions=source --import tsx scripts/lint-api.ts [--url <gateway>] [--out <file>]

Lints the gateway's /docs/openapi.json with Spectral and .spectral.yaml. Without --url, builds the
services and the gateway in this process over a throwaway PostgreSQL (TEST_DATABASE_URL, when set).
  --url <gateway>  lint the document of a running gateway, e.g. http://127.0.0.1:8080
  --out <file>     also write the document there`,
    { url: { type: 'string' }, out: { type: 'string' } },
  );
  let document: Record<string, unknown>;
  if (values.url) {
    const res = await fetch(new URL('/docs/openapi.json', values.url));
    if (!res.ok) throw new Error(`GET /docs/openapi.json answered ${res.status}`);
    document = (await res.json()) as Record<string, unknown>;
  } else {
    const postgres = await startTestPostgres();
    try {
      document = await buildServedDocument(postgres.url);
    } finally {
      await postgres.stop();
    }
  }
  if (values.out) await writeFile(resolve(values.out), JSON.stringify(document, null, 2));
  const findings = await lintDocument(document);
  const problems = operationIdProblems(document);
  if (findings.length > 0) process.stdout.write(`${formatFindings(findings)}\n`);
  for (const problem of problems) process.stdout.write(`error operationId: ${problem}\n`);
  const errors = findings.filter((f) => f.severity === 0).length + problems.length;
  const warnings = findings.filter((f) => f.severity === 1).length;
  process.stdout.write(`lint-api: ${errors} errors, ${warnings} warnings\n`);
  return errors > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) runCommand('lint-api', main);
