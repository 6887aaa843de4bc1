import { isDeepStrictEqual } from 'node:util';
import { errorResponse, ProbeSchemas, type ErrorStatus } from '@mini/shared';

type Json = Record<string, unknown>;

/** One service's OpenAPI document as fetched, or why it could not be. */
export interface ServiceDocument {
  name: string;
  /** Only paths under this prefix are routed by the gateway, so only those are listed. */
  prefix: string;
  document?: unknown;
  problem?: string;
}

export interface MergedDocument extends Json {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string; 'x-internal': boolean }[];
  paths: Json;
  components: Record<string, Json>;
  tags: Json[];
  /** Services whose document is missing from this one. */
  'x-missing-services': string[];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function owns(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** Replaces `$ref` values found in `renames` anywhere in `value` (a fresh copy). */
function rewriteRefs(value: unknown, renames: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, renames));
  if (!isObject(value)) return value;
  const copy: Json = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = key === '$ref' && typeof item === 'string' && renames.has(item) ? renames.get(item) : rewriteRefs(item, renames);
  }
  return copy;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operationsOf(item: unknown): Json[] {
  return isObject(item) ? METHODS.map((method) => item[method]).filter(isObject) : [];
}

// Relative, so it is whichever gateway served this document, over the scheme it was fetched with.
const SERVER = {
  url: '/',
  description:
    'The API gateway that served this document: https in production (TLS ends at the Kubernetes Ingress in front of it), ' +
    'plain http only on a local machine or under Docker Compose',
  'x-internal': false,
};

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * One OpenAPI 3.1 document out of the services' documents: their paths (only
 * those the gateway routes), components and tags, with the gateway as server.
 * Two different components with the same name keep both, the later one
 * renamed after its service (and its `$ref`s rewritten).
 */
export function mergeOpenApi(parts: ServiceDocument[], info: { title: string; version: string; description?: string }): MergedDocument {
  const paths: Json = {};
  const components: Record<string, Json> = {};
  const tags = new Map<string, Json>();
  const missing: string[] = [];

  for (const part of parts) {
    const document = part.document;
    if (!isObject(document) || !isObject(document.paths)) {
      missing.push(part.problem ? `${part.name} (${part.problem})` : part.name);
      continue;
    }
    const renames = new Map<string, string>();
    const ownComponents = isObject(document.components) ? document.components : {};
    for (const [kind, entries] of Object.entries(ownComponents)) {
      if (!isObject(entries)) continue;
      const merged = (components[kind] ??= {});
      for (const [name, value] of Object.entries(entries)) {
        if (!(name in merged) || isDeepStrictEqual(merged[name], value)) continue;
        let renamed = `${pascal(part.name)}${name}`;
        for (let n = 2; renamed in merged || renamed in entries; n++) renamed = `${pascal(part.name)}${name}${n}`;
        renames.set(`#/components/${kind}/${name}`, `#/components/${kind}/${renamed}`);
      }
    }
    const source = (renames.size > 0 ? rewriteRefs(document, renames) : document) as Json;
    const sourceComponents = isObject(source.components) ? source.components : {};
    for (const [kind, entries] of Object.entries(sourceComponents)) {
      if (!isObject(entries)) continue;
      const merged = (components[kind] ??= {});
      for (const [name, value] of Object.entries(entries)) {
        const target = renames.get(`#/components/${kind}/${name}`)?.split('/').pop() ?? name;
        merged[target] ??= value;
      }
    }
    for (const tag of Array.isArray(source.tags) ? source.tags : []) {
      if (isObject(tag) && typeof tag.name === 'string' && !tags.has(tag.name)) tags.set(tag.name, tag);
    }
    // A tag the service uses without defining it is described by the service's own description.
    const about = isObject(source.info) && typeof source.info.description === 'string' ? { description: source.info.description } : {};
    for (const [path, item] of Object.entries(source.paths as Json)) {
      if (!owns(part.prefix, path)) continue;
      paths[path] = item;
      for (const operation of operationsOf(item)) {
        for (const tag of Array.isArray(operation.tags) ? operation.tags : []) {
          if (typeof tag === 'string' && !tags.has(tag)) tags.set(tag, { name: tag, ...about });
        }
      }
    }
  }

  const base = info.description ?? 'The Mini eCommerce API: every route, served through the gateway.';
  const description = missing.length > 0 ? `${base}\n\n**Incomplete:** not available right now: ${missing.join(', ')}.` : base;
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description },
    servers: [SERVER],
    paths,
    components,
    tags: [...tags.values()],
    'x-missing-services': missing,
  };
}

/** A value with TypeBox's symbol keys dropped: plain JSON, as a fetched document is. */
function plain(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

/** A route schema's response (with @fastify/swagger's `headers`) as an OpenAPI response object. */
function toOpenApiResponse(schema: unknown): Json {
  const { description, headers, ...body } = plain(schema);
  const response: Json = { description: typeof description === 'string' ? description : 'Answer' };
  if (isObject(headers)) {
    response.headers = Object.fromEntries(
      Object.entries(headers).map(([name, header]) => {
        const { description: about, ...headerSchema } = isObject(header) ? header : {};
        return [name, { ...(typeof about === 'string' ? { description: about } : {}), schema: headerSchema }];
      }),
    );
  }
  if (body.type !== 'null') response.content = { 'application/json': { schema: body } };
  return response;
}

/** A route schema (the shape `ProbeSchemas` holds) as an OpenAPI operation. */
function toOpenApiOperation({ response, ...rest }: { response: Record<number, unknown> } & Json): Json {
  const responses = Object.fromEntries(Object.entries(response).map(([status, schema]) => [status, toOpenApiResponse(schema)]));
  return { ...plain(rest), responses };
}

const RATE_LIMIT_HEADERS: Json = {
  'RateLimit-Limit': {
    description: 'Requests this client may make in the current window (absent when the gateway runs without rate limits)',
    schema: { type: 'integer', format: 'int32', minimum: 1, maximum: 2_147_483_647 },
  },
  'RateLimit-Remaining': {
    description: 'Requests left in the current window',
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 2_147_483_647 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until the current window ends',
    schema: { type: 'integer', format: 'int32', minimum: 0, maximum: 86_400 },
  },
};
const RATE_LIMIT_HEADER_REFS = Object.fromEntries(
  Object.keys(RATE_LIMIT_HEADERS).map((name) => [name, { $ref: `#/components/headers/${name}` }]),
);

/** The answers only the gateway gives, to any route it forwards (a service's own 503 is kept where it has one). */
const GATEWAY_ANSWERS: [ErrorStatus, string][] = [
  [429, 'RateLimited'],
  [502, 'BadGateway'],
  [503, 'ServiceUnavailable'],
  [504, 'GatewayTimeout'],
];

function withRateLimitHeaders(response: unknown): unknown {
  if (!isObject(response) || '$ref' in response) return response;
  return { ...response, headers: { ...RATE_LIMIT_HEADER_REFS, ...(isObject(response.headers) ? response.headers : {}) } };
}

/** A forwarded operation as the gateway answers it: its rate-limit headers on every answer, and its own answers added. */
function forwarded(operation: Json, used: Set<string>): Json {
  const responses: Json = {};
  for (const [status, response] of Object.entries(isObject(operation.responses) ? operation.responses : {})) {
    responses[status] = withRateLimitHeaders(response);
  }
  for (const [status, name] of GATEWAY_ANSWERS) {
    if (responses[status] !== undefined) continue;
    responses[status] = { $ref: `#/components/responses/${name}` };
    used.add(name);
  }
  return { ...operation, responses };
}

/**
 * The gateway's part of the contract, added to the merged services' document: on every operation
 * it forwards, what only it answers (429 from its per-client rate limits, 502/503/504 for an
 * upstream that is down or slow) and the RateLimit-* headers it sends on every answer; and its own
 * probes, which are exempt from rate limits. Here rather than in each service, since no service
 * answers these itself.
 */
export function addGatewayContract(document: MergedDocument): MergedDocument {
  const paths: Json = {};
  const used = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    if (!isObject(item)) continue;
    paths[path] = Object.fromEntries(
      Object.entries(item).map(([key, value]) => [key, METHODS.includes(key) && isObject(value) ? forwarded(value, used) : value]),
    );
  }
  const responses = Object.fromEntries(
    GATEWAY_ANSWERS.filter(([, name]) => used.has(name)).map(([status, name]) => [
      name,
      withRateLimitHeaders(toOpenApiResponse(errorResponse(status))),
    ]),
  );
  const components = { ...document.components };
  if (used.size > 0) components.responses = { ...components.responses, ...responses };
  if (Object.keys(paths).length > 0) components.headers = { ...components.headers, ...RATE_LIMIT_HEADERS };
  paths['/healthz'] = { get: toOpenApiOperation(ProbeSchemas.health) };
  paths['/readyz'] = { get: toOpenApiOperation(ProbeSchemas.readiness) };
  const tags = document.tags.some((tag) => tag.name === 'health')
    ? document.tags
    : [...document.tags, { name: 'health', description: "The gateway's own liveness and readiness probes" }];
  return { ...document, paths, components, tags };
}
