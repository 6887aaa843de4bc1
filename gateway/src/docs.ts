import swaggerUi from '@fastify/swagger-ui';
import type { FastifySchema } from 'fastify';
import type { App } from '@mini/shared';
import { addGatewayContract, mergeOpenApi, type MergedDocument, type ServiceDocument } from './openapi-merge.js';
import { getFrom, type Upstream } from './upstreams.js';

export interface DocsOptions {
  upstreams: Upstream[];
  /** Time each upstream gets to hand over its document. */
  timeoutMs: number;
  /** How long a complete document is reused. */
  ttlMs?: number;
  /** How long an incomplete one is reused (short: the missing service may be back soon). */
  partialTtlMs?: number;
  now?: () => number;
}

export interface DocsSource {
  get(): Promise<MergedDocument>;
}

// `hide` comes from @fastify/swagger's type augmentation, which the built @mini/shared types do not carry.
const HIDDEN = { hide: true } as FastifySchema;

const INFO = { title: 'Mini eCommerce API', version: '0.1.0' };

/** The combined OpenAPI document, fetched from every upstream's `/openapi.json` at most once per TTL. */
export function createDocsSource({ upstreams, timeoutMs, ttlMs = 30_000, partialTtlMs = 5_000, now = Date.now }: DocsOptions): DocsSource {
  let cached: { document: MergedDocument; expiresAt: number } | undefined;
  let pending: Promise<MergedDocument> | undefined;

  async function fetchDocument(upstream: Upstream): Promise<ServiceDocument> {
    const part = { name: upstream.name, prefix: upstream.prefix };
    try {
      const response = await getFrom(upstream, '/openapi.json', timeoutMs);
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { ...part, problem: `answered ${response.statusCode}` };
      }
      return { ...part, document: await response.body.json() };
    } catch {
      return { ...part, problem: 'unreachable' };
    }
  }

  async function build(): Promise<MergedDocument> {
    const document = addGatewayContract(mergeOpenApi(await Promise.all(upstreams.map(fetchDocument)), INFO));
    cached = { document, expiresAt: now() + (document['x-missing-services'].length > 0 ? partialTtlMs : ttlMs) };
    return document;
  }

  return {
    get() {
      if (cached && cached.expiresAt > now()) return Promise.resolve(cached.document);
      // Concurrent readers share one round of upstream fetches.
      pending ??= build().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}

/**
 * The plugin's CSP with every source outside this origin removed (`https:` fonts and styles,
 * the validator badge), framing refused, and no `upgrade-insecure-requests`: plain-HTTP
 * deployments (Compose, local) must not have their assets upgraded to https.
 */
export function strictDocsCsp(header: string): string {
  return header
    .replace(/\s*upgrade-insecure-requests;?/, '')
    .replace(/ (https:|validator\.swagger\.io)(?=[ ;])/g, '')
    .replace(/frame-ancestors [^;]*/, "frame-ancestors 'none'");
}

/**
 * `/docs/openapi.json`: the combined document; `/docs`: Swagger UI for it,
 * its scripts and styles served by the gateway itself (no CDN).
 */
export async function registerDocs(app: App, source: DocsSource): Promise<void> {
  app.get('/docs/openapi.json', { schema: HIDDEN }, async () => source.get());

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: { title: 'Mini eCommerce API' },
    // No badge from validator.swagger.io: the page loads nothing from elsewhere.
    uiConfig: { deepLinking: true, displayRequestDuration: true, persistAuthorization: true, validatorUrl: null },
    staticCSP: true,
    transformStaticCSP: strictDocsCsp,
    uiHooks: {
      // Swagger UI always loads `./json`, which the plugin fills from this process's own
      // (empty) document: answer it with the combined one instead. No YAML variant.
      onRequest: (request, reply, done) => {
        const route = request.routeOptions.url;
        if (route === '/docs/json') {
          source.get().then((document) => reply.header('cache-control', 'no-cache').send(document), done);
        } else if (route === '/docs/yaml') {
          reply.callNotFound();
        } else {
          done();
        }
      },
    },
  });
}
