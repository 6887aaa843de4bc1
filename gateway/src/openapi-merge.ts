import { isDeepStrictEqual } from 'node:util';

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
  servers: { url: string; description: string }[];
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
    for (const [path, item] of Object.entries(source.paths as Json)) {
      if (owns(part.prefix, path)) paths[path] = item;
    }
    for (const tag of Array.isArray(source.tags) ? source.tags : []) {
      if (isObject(tag) && typeof tag.name === 'string' && !tags.has(tag.name)) tags.set(tag.name, tag);
    }
  }

  const base = info.description ?? 'The Mini eCommerce API: every route, served through the gateway.';
  const description = missing.length > 0 ? `${base}\n\n**Incomplete:** not available right now: ${missing.join(', ')}.` : base;
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description },
    servers: [{ url: '/', description: 'the API gateway' }],
    paths,
    components,
    tags: [...tags.values()],
    'x-missing-services': missing,
  };
}
